"""Ranking metrics over article ids (a ranked list of passages is reduced to the first
occurrence of each article, so two chunks of one article count once)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def dedupe(ranked: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in ranked:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def recall_at_k(ranked: Sequence[str], relevant: Sequence[str], k: int) -> float:
    """Share of the relevant articles found in the top k."""
    wanted = set(relevant)
    if not wanted:
        raise ValueError("recall needs at least one relevant article")
    return len(wanted & set(dedupe(ranked)[:k])) / len(wanted)


def reciprocal_rank(ranked: Sequence[str], relevant: Sequence[str], k: int | None = None) -> float:
    wanted = set(relevant)
    for i, item in enumerate(dedupe(ranked)[:k] if k else dedupe(ranked), start=1):
        if item in wanted:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: Sequence[str], k: int) -> float:
    """Binary-relevance nDCG@k."""
    wanted = set(relevant)
    if not wanted:
        raise ValueError("nDCG needs at least one relevant article")
    dcg = sum(1.0 / math.log2(i + 2) for i, item in enumerate(dedupe(ranked)[:k]) if item in wanted)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(wanted), k)))
    return dcg / ideal
