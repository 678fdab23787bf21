"""Copilot's own small grounding check: how well each sentence of a suggested reply is
supported by the passages (embedding similarity + content-word overlap; numbers that are
not in the sources count as invented)."""

from __future__ import annotations

import numpy as np

from copilot.text import content_words, split_sentences, strip_citations
from core.models.embed import Embedder
from core.types import Passage


def support(embedder: Embedder, text: str, passages: list[Passage], *, lexical_weight: float = 0.5) -> float:
    """Minimum support over the sentences of ``text`` (0 when there is nothing to check)."""
    sentences = [strip_citations(s) for s in split_sentences(text)]
    source_sents = [s for p in passages for s in (split_sentences(p.text) or [p.text])]
    if not sentences or not source_sents:
        return 0.0
    vecs = embedder.embed(sentences + source_sents)
    sims = vecs[: len(sentences)] @ vecs[len(sentences) :].T
    source_words: set[str] = set()
    for p in passages:
        source_words |= content_words(p.text) | content_words(p.title)
    scores: list[float] = []
    for i, s in enumerate(sentences):
        words = content_words(s)
        lexical = len(words & source_words) / len(words) if words else 0.0
        numbers = {w for w in words if any(ch.isdigit() for ch in w)}
        if numbers - source_words:
            lexical *= 0.3
        dense = max(float(np.max(sims[i])), 0.0)
        scores.append((1 - lexical_weight) * dense + lexical_weight * lexical)
    return min(scores)
