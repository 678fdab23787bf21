"""Hybrid retrieval: BM25 and dense results fused by reciprocal rank fusion (RRF), then
optionally reranked. Every filter (tenant, visibility, language, live version) is applied
inside both searches; the live-version snapshot is taken once per search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from core.models.embed import Embedder
from core.types import Passage
from knowledge.documents import Chunk
from knowledge.index.base import Filters, Index
from knowledge.index.keyword import KeywordIndex
from knowledge.index.versions import LiveVersions
from knowledge.rankers.base import Ranker

MODES = ("hybrid", "dense", "keyword")


@dataclass
class HybridRetriever:
    embedder: Embedder
    index: Index
    keyword: KeywordIndex
    live: LiveVersions | None = None
    ranker: Ranker | None = None
    rrf_k: int = 60
    candidates: int = 20
    mode: str = "hybrid"  # hybrid | dense | keyword

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.candidates < 1 or self.rrf_k < 1:
            raise ValueError("candidates and rrf_k must be positive")

    def with_mode(self, mode: str, *, ranker: Ranker | None = None) -> HybridRetriever:
        """The same indexes searched another way (used by benchmarks and evals)."""
        return replace(self, mode=mode, ranker=ranker)

    def search(self, query: str, *, k: int, filters: Filters, query_vector: np.ndarray | None = None) -> list[Passage]:
        vectors = [query_vector] if query_vector is not None else None
        return self.search_many([query], k=k, filters=filters, query_vectors=vectors)

    def search_many(
        self,
        queries: Sequence[str],
        *,
        k: int,
        filters: Filters,
        query_vectors: Sequence[np.ndarray] | None = None,
    ) -> list[Passage]:
        """Search several phrasings of one need (e.g. the last turn and its rewrite) and fuse
        every ranked list by RRF. One live-version snapshot and one embedding call serve all."""
        given = list(query_vectors) if query_vectors is not None and len(query_vectors) == len(queries) else None
        unique: dict[str, np.ndarray | None] = {}
        for i, q in enumerate(queries):
            if q.strip() and q.strip() not in unique:
                unique[q.strip()] = given[i] if given is not None else None
        if not unique or k < 1:
            return []
        texts = list(unique)
        vectors = [v for v in unique.values() if v is not None] if given is not None else None
        if filters.live is not None or self.live is None:
            return self._search(texts, k, filters, vectors)
        with self.live.reading(filters.tenant_id) as view:
            return self._search(texts, k, replace(filters, live=view), vectors)

    def _search(
        self, queries: list[str], k: int, filters: Filters, query_vectors: Sequence[np.ndarray] | None
    ) -> list[Passage]:
        n = max(k, self.candidates)
        ranked: list[list[tuple[Chunk, float]]] = []
        vectors: list[np.ndarray] | None = list(query_vectors) if query_vectors is not None else None
        if self.mode in ("hybrid", "keyword"):
            ranked.extend(self.keyword.query(q, n, filters) for q in queries)
        if self.mode in ("hybrid", "dense") or (self.ranker is not None and vectors is None):
            if vectors is None or len(vectors) != len(queries):
                vectors = list(self.embedder.embed(queries))
        if self.mode in ("hybrid", "dense"):
            assert vectors is not None
            ranked.extend(self.index.query(v, n, filters) for v in vectors)
        fused = ranked[0] if len(ranked) == 1 else rrf(ranked, self.rrf_k)
        if self.ranker is not None and fused:
            assert vectors is not None
            fused = self.ranker.rerank(queries[0], vectors[0], fused)
        return [c.to_passage(s) for c, s in fused[:k]]

    def describe(self) -> dict[str, object]:
        return {
            "retriever": self.mode,
            "rrf_k": self.rrf_k,
            "candidates": self.candidates,
            "keyword": self.keyword.describe(),
            "ranker": self.ranker.describe() if self.ranker else None,
        }


def rrf(ranked: list[list[tuple[Chunk, float]]], rrf_k: int) -> list[tuple[Chunk, float]]:
    """Reciprocal rank fusion: sum of 1 / (rrf_k + rank) over the lists a chunk is in."""
    fused: dict[str, float] = {}
    by_id: dict[str, Chunk] = {}
    for results in ranked:
        for rank, (chunk, _) in enumerate(results):
            fused[chunk.id] = fused.get(chunk.id, 0.0) + 1.0 / (rrf_k + rank + 1)
            by_id[chunk.id] = chunk
    order = sorted(fused.items(), key=lambda kv: kv[1], reverse=True)
    return [(by_id[cid], score) for cid, score in order]
