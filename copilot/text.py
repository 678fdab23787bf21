"""Small pure text helpers the copilot needs: content words, citations, edit distance.
Sentence splitting is shared with the bot through ``core.text``."""

from __future__ import annotations

import re

from core.text import split_sentences

__all__ = ["STOP", "content_words", "cited_numbers", "edit_distance", "split_sentences", "strip_citations"]

_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
_CITE = re.compile(r"\s*\[(\d{1,2})\]")

STOP = frozenset(
    "a an and are as at be but by can could do does for from has have how i if in into is it its of on or "
    "our so that the their then there this to was we what when where which who will with you your yours "
    "please may also any all not me my am been just would should hi hello thanks thank ok okay yes no".split()
)


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOP}


def cited_numbers(text: str) -> list[int]:
    return [int(n) for n in _CITE.findall(text)]


def strip_citations(text: str) -> str:
    return _CITE.sub("", text).strip()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance in characters (two-row dynamic programming)."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i]
        for j, cb in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
