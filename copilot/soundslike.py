"""Sound-alike word matching: how much of a customer's message an article says, counting
words that are misheard or misspelt.

Speech transcripts and hurried chat garble exactly the words that matter: "do they delver",
"bike crac", "the lover" (deliver), "wi fa". A sentence embedding reads those as noise; this
scorer matches each word of the message to an article word that is spelt alike (rapidfuzz
ratio) or sounds alike (same Metaphone key, e.g. "delver" and "deliver" are both ``TLFR``),
also trying two adjacent message words as one ("bike crac" -> "bikecrac"). Article words
weigh by rarity among the articles compared, so "parking" counts more than "restaurant".

It re-ranks a handful of candidate articles (those of the subjects a conversation named) in
``copilot.suggest``; it is not a search index.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import jellyfish
from rapidfuzz import fuzz

from copilot.query import STOP_WORDS

_WORD = re.compile(r"[a-z]+")
# The copilot's query stop words, as ``_words`` spells them (no apostrophes), plus the
# verbs and fillers of a question put to an agent.
_STOP = frozenset(w.replace("'", "") for w in STOP_WORDS) | frozenset(
    "has oh awesome any about at by here some much many tell check whether wondering able offer offers guys".split()
)
MATCH = 0.75  # a message word matches an article word this alike (0..1)
SOUND_DISCOUNT = 0.9  # a match by sound alone counts a little less than one by spelling


@lru_cache(maxsize=100_000)
def _sound(word: str) -> str:
    return str(jellyfish.metaphone(word)) or word


@lru_cache(maxsize=200_000)
def alike(said: str, written: str) -> float:
    """0..1: how alike two words are, by spelling or (words of 4+ letters) by sound."""
    spelt = fuzz.ratio(said, written) / 100
    if len(said) < 4 or len(written) < 4:
        return spelt
    return max(spelt, SOUND_DISCOUNT * fuzz.ratio(_sound(said), _sound(written)) / 100)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("'", ""))


def article_words(text: str) -> set[str]:
    return {w for w in _words(text) if w not in _STOP and len(w) > 1}


def message_words(text: str) -> set[str]:
    """The message's content words, and adjacent pairs as one word (speech splits words)."""
    ws = _words(text)
    out = {w for w in ws if w not in _STOP and len(w) > 2}
    out |= {a + b for a, b in zip(ws, ws[1:], strict=False) if len(a + b) >= 5 and not (a in _STOP and b in _STOP)}
    return out


def scores(message: str, texts: Sequence[str]) -> list[float]:
    """For each text, the rarity-weighted sum over the message's words of their best
    sound-alike match in the text; 0 when nothing matches."""
    bags = [article_words(t) for t in texts]
    df = Counter(w for bag in bags for w in bag)
    n = len(bags)
    said = message_words(message)
    out: list[float] = []
    for bag in bags:
        total = 0.0
        for s in said:
            best = 0.0
            for w in bag:
                a = alike(s, w)
                if a >= MATCH:
                    best = max(best, a * math.log((n + 1) / (df[w] + 0.5)))
            total += best
        out.append(total)
    return out
