"""Sentence-level grounding: how well each answer sentence is supported by the passages
it cites. Support combines embedding similarity with content-word overlap, so a sentence
that merely sounds related but adds facts (numbers, names) scores low."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from core.models.embed import Embedder
from core.text import split_sentences
from core.types import Passage

_CITE = re.compile(r"\[(\d{1,2})\]")
_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
_STOP = frozenset(
    "a an and are as at be but by can do does for from has have how i if in into is it its of on or "
    "our so that the their then there this to was we what when where which who will with you your "
    "yours please may also any all not".split()
)


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def cited_numbers(sentence: str) -> list[int]:
    return [int(n) for n in _CITE.findall(sentence)]


def strip_citations(text: str) -> str:
    return _CITE.sub("", text).replace("  ", " ").strip()


@dataclass(frozen=True)
class SentenceSupport:
    sentence: str
    citations: tuple[int, ...]
    support: float  # 0..1


@dataclass(frozen=True)
class GroundingResult:
    score: float  # min support over sentences (0 when there are none)
    sentences: tuple[SentenceSupport, ...]

    def passes(self, threshold: float) -> bool:
        return bool(self.sentences) and self.score >= threshold


class GroundingChecker:
    def __init__(self, embedder: Embedder, *, lexical_weight: float = 0.5) -> None:
        if not 0.0 <= lexical_weight <= 1.0:
            raise ValueError("lexical_weight must be within 0..1")
        self.embedder = embedder
        self.lexical_weight = lexical_weight

    def check(self, answer: str, passages: list[Passage]) -> GroundingResult:
        sentences = split_sentences(answer)
        if not sentences or not passages:
            return GroundingResult(0.0, ())
        passage_sents = [split_sentences(p.text) or [p.text] for p in passages]
        flat = [s for group in passage_sents for s in group]
        owner = [i for i, group in enumerate(passage_sents) for _ in group]
        clean = [strip_citations(s) for s in sentences]
        vecs = self.embedder.embed(clean + flat)
        ans_vecs, src_vecs = vecs[: len(clean)], vecs[len(clean) :]
        sims = ans_vecs @ src_vecs.T
        results: list[SentenceSupport] = []
        for i, (raw, text) in enumerate(zip(sentences, clean, strict=True)):
            cites = tuple(n for n in cited_numbers(raw) if 1 <= n <= len(passages))
            allowed = {n - 1 for n in cites} or set(range(len(passages)))
            mask = np.array([o in allowed for o in owner])
            dense = float(sims[i][mask].max()) if mask.any() else 0.0
            words = content_words(text)
            source_words: set[str] = set()
            for n in allowed:
                source_words |= content_words(passages[n].text) | content_words(passages[n].title)
            lexical = len(words & source_words) / len(words) if words else 0.0
            support = (1 - self.lexical_weight) * max(dense, 0.0) + self.lexical_weight * lexical
            # A number the cited sources do not contain is invented (a price, a day count):
            # however close the sentence sounds, it is unsupported.
            numbers = {w for w in words if any(ch.isdigit() for ch in w)}
            if numbers - source_words:
                support = 0.0
            results.append(SentenceSupport(raw, cites, support))
        return GroundingResult(min(r.support for r in results), tuple(results))
