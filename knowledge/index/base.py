"""The ``Index`` seam: a dense vector index holding chunks with their metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from core.registry import Registry
from core.types import Visibility
from knowledge.documents import Chunk
from knowledge.index.versions import LiveView


@dataclass(frozen=True)
class Filters:
    """Applied inside every index query (never after the fact by a caller).

    ``live`` (a snapshot of the live article versions) hides chunks of versions that are
    being written or retired, so a search sees exactly one version of each article."""

    tenant_id: str
    visibilities: frozenset[Visibility] = frozenset({Visibility.public})
    language: str | None = None
    live: LiveView | None = None

    def admits(self, chunk: Chunk) -> bool:
        return (
            chunk.tenant_id == self.tenant_id
            and chunk.visibility in self.visibilities
            and (self.language is None or chunk.language == self.language)
            and (self.live is None or self.live.is_live(chunk.article_id, chunk.version))
        )


class Index(Protocol):
    name: str

    def upsert(self, tenant_id: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> None: ...

    def delete(self, tenant_id: str, chunk_ids: Sequence[str]) -> None: ...

    def query(self, vector: np.ndarray, k: int, filters: Filters) -> list[tuple[Chunk, float]]: ...

    def chunk_ids(self, tenant_id: str, article_id: str, version: int | None = None) -> list[str]: ...

    def chunks(self, tenant_id: str) -> list[Chunk]: ...

    def vectors(self, tenant_id: str, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored embeddings of those of ``chunk_ids`` the tenant has."""
        ...

    def count(self, tenant_id: str) -> int: ...

    def delete_tenant(self, tenant_id: str) -> None: ...

    def describe(self) -> dict[str, object]: ...


INDEXES: Registry[Index] = Registry("index")
