"""Rerank by how well the section heading matches the question (bundled MiniLM only).

Help-center sections are usually titled with the very question they answer ("How long do
I have to return an item?"). Candidates are ranked a second time by the cosine between the
query and their heading (title > section path), and that ranking is fused with the
incoming order by reciprocal rank. Heading vectors are cached, so a rerank embeds only
headings it has not seen.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from core.models.embed import Embedder
from knowledge.documents import Chunk


def heading(chunk: Chunk) -> str:
    return f"{chunk.title} — {chunk.section}" if chunk.section and chunk.section != chunk.title else chunk.title


class TitleRanker:
    name = "title"

    def __init__(self, embedder: Embedder, *, weight: float = 1.0, top: int = 20, rrf_k: int = 60, cache: int = 20000):
        if weight < 0 or top < 1 or rrf_k < 1 or cache < 1:
            raise ValueError("weight >= 0, top >= 1, rrf_k >= 1 and cache >= 1 are required")
        self.embedder = embedder
        self.weight = weight
        self.top = top
        self.rrf_k = rrf_k
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = cache
        self._lock = threading.Lock()

    def _vectors(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            fresh = self.embedder.embed(missing)
            with self._lock:
                for text, vec in zip(missing, fresh, strict=True):
                    self._cache[text] = vec
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        with self._lock:
            for t in texts:
                self._cache.move_to_end(t)
            return np.stack([self._cache[t] for t in texts])

    def rerank(
        self, query: str, query_vector: np.ndarray, ranked: list[tuple[Chunk, float]]
    ) -> list[tuple[Chunk, float]]:
        head, tail = ranked[: self.top], ranked[self.top :]
        if len(head) < 2:
            return ranked
        sims = self._vectors([heading(c) for c, _ in head]) @ query_vector
        by_title = {int(i): rank for rank, i in enumerate(np.argsort(-sims, kind="stable"))}
        rescored = [
            (chunk, score + self.weight / (self.rrf_k + by_title[i] + 1)) for i, (chunk, score) in enumerate(head)
        ]
        rescored.sort(key=lambda cs: cs[1], reverse=True)
        return rescored + tail

    def describe(self) -> dict[str, object]:
        return {"ranker": self.name, "weight": self.weight, "top": self.top, "rrf_k": self.rrf_k}
