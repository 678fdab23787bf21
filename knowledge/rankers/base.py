"""The ranker seam: re-order retrieved candidates."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from knowledge.documents import Chunk


class Ranker(Protocol):
    name: str

    def rerank(
        self, query: str, query_vector: np.ndarray, ranked: list[tuple[Chunk, float]]
    ) -> list[tuple[Chunk, float]]:
        """Return the same chunks, best first, with new scores."""
        ...

    def describe(self) -> dict[str, object]: ...
