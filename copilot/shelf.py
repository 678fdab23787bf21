"""A tenant's chunk vectors in memory, for the copilot's dense searches.

Every suggestion runs two to four dense searches; through the vector index each costs a
query per visibility collection (a few milliseconds of CPU each, mostly fetching documents
and metadata), which is most of the suggestion's time on a loaded machine. A help center's
chunks are few (hundreds to a few thousand), so the copilot keeps their stored embeddings
(no re-embedding: ``Index.vectors``) in one matrix and searches it with a matrix product.

``ShelvedIndex`` wraps the tenant's ``Index``: ``query`` and ``vectors`` are answered from
the shelf when it holds the tenant's chunks for the live-version generation of the search
(``Filters.live``), and by the wrapped index otherwise, while the shelf is rebuilt on a
background thread (a tenant's first shelf is built in line). So a KB change is seen at once
(the stale shelf is never searched), and results are the chunks the index would give (every
candidate still passes ``Filters.admits``: tenant, visibility, language, live version).
Tenants above ``max_chunks`` are always searched through the index; at most ``max_tenants``
shelves are kept (a 20,000-chunk MiniLM shelf is about 30 MB).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from knowledge.documents import Chunk
from knowledge.index.base import Filters, Index

__all__ = ["ShelvedIndex"]

log = logging.getLogger("switchboard.copilot")


@dataclass(frozen=True)
class _Shelf:
    generation: int
    chunks: list[Chunk]
    matrix: np.ndarray  # one unit row per chunk
    rows: dict[str, int]  # chunk id -> row


class ShelvedIndex:
    """An ``Index`` whose dense queries and stored vectors come from memory when it can (see
    the module docstring). Writes and everything else go to ``index``."""

    def __init__(self, index: Index, *, max_chunks: int = 20_000, max_tenants: int = 64, page: int = 5_000) -> None:
        if max_chunks < 0 or max_tenants < 1 or page < 1:
            raise ValueError("max_chunks must be >= 0, max_tenants and page >= 1")
        self.index = index
        self.name = index.name
        self.max_chunks = max_chunks
        self.max_tenants = max_tenants  # the least recently searched tenant's shelf is dropped beyond this
        self.page = page
        self._shelves: OrderedDict[str, _Shelf] = OrderedDict()
        self._too_big: dict[str, int] = {}  # tenant -> generation found above max_chunks
        self._building: set[str] = set()
        self._lock = threading.Lock()

    # -- the shelf ------------------------------------------------------------------------

    def shelf(self, tenant_id: str, generation: int) -> _Shelf | None:
        """The tenant's shelf for ``generation``. The first one is built in line (the index's
        first reads in a process are not raced against a search); a newer generation's is
        rebuilt on a background thread, and None is returned (the index answers) meanwhile."""
        with self._lock:
            shelf = self._shelves.get(tenant_id)
            if shelf is not None and shelf.generation == generation:
                self._shelves.move_to_end(tenant_id)
                return shelf
            if self._too_big.get(tenant_id) == generation or tenant_id in self._building:
                return None
            self._building.add(tenant_id)
            first = shelf is None
        if first:
            self._build(tenant_id, generation)
            with self._lock:
                shelf = self._shelves.get(tenant_id)
            return shelf if shelf is not None and shelf.generation == generation else None
        threading.Thread(target=self._build, args=(tenant_id, generation), name="copilot-shelf", daemon=True).start()
        return None

    def build(self, tenant_id: str, generation: int) -> bool:
        """Build the tenant's shelf now (tests, warm-up); True when it holds the tenant."""
        with self._lock:
            self._building.add(tenant_id)
        self._build(tenant_id, generation)
        with self._lock:
            shelf = self._shelves.get(tenant_id)
            return shelf is not None and shelf.generation == generation

    def _build(self, tenant_id: str, generation: int) -> None:
        try:
            if self.index.count(tenant_id) > self.max_chunks:
                with self._lock:
                    self._too_big[tenant_id] = generation
                    self._shelves.pop(tenant_id, None)
                return
            chunks = self.index.chunks(tenant_id)
            vectors: dict[str, np.ndarray] = {}
            for start in range(0, len(chunks), self.page):
                vectors.update(self.index.vectors(tenant_id, [c.id for c in chunks[start : start + self.page]]))
            kept = [c for c in chunks if c.id in vectors]
            if kept:
                matrix = np.stack([vectors[c.id] for c in kept]).astype(np.float32)
                matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
            else:
                matrix = np.zeros((0, 1), dtype=np.float32)
            shelf = _Shelf(generation, kept, matrix, {c.id: i for i, c in enumerate(kept)})
            with self._lock:
                current = self._shelves.get(tenant_id)
                if current is None or current.generation <= generation:
                    self._shelves[tenant_id] = shelf
                    self._shelves.move_to_end(tenant_id)
                    while len(self._shelves) > self.max_tenants:
                        self._shelves.popitem(last=False)
        except Exception:  # noqa: BLE001  (the index answers meanwhile; the next search retries)
            log.exception("could not shelve the chunk vectors of tenant %s", tenant_id)
        finally:
            with self._lock:
                self._building.discard(tenant_id)

    # -- Index ----------------------------------------------------------------------------

    def query(self, vector: np.ndarray, k: int, filters: Filters) -> list[tuple[Chunk, float]]:
        if k < 1:
            return []
        shelf = self.shelf(filters.tenant_id, filters.live.generation) if filters.live is not None else None
        if shelf is None or not shelf.chunks:
            return self.index.query(vector, k, filters)
        sims = shelf.matrix @ np.asarray(vector, dtype=np.float32)
        out: list[tuple[Chunk, float]] = []
        # The best k + a margin first (argpartition), the whole ranking only when filters
        # (visibility, language, live version) left too few.
        for take in (min(len(sims), 4 * k + 32), len(sims)):
            top = np.argpartition(-sims, take - 1)[:take] if take < len(sims) else np.arange(len(sims))
            out = []
            for i in top[np.argsort(-sims[top], kind="stable")]:
                chunk = shelf.chunks[int(i)]
                if filters.admits(chunk):
                    out.append((chunk, float(sims[int(i)])))
                    if len(out) == k:
                        return out
            if take == len(sims):
                break
        return out

    def vectors(self, tenant_id: str, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        with self._lock:
            shelf = self._shelves.get(tenant_id)
        if shelf is None:
            return self.index.vectors(tenant_id, chunk_ids)
        found = {c: shelf.matrix[shelf.rows[c]] for c in chunk_ids if c in shelf.rows}
        rest = [c for c in chunk_ids if c not in found]
        if rest:
            found.update(self.index.vectors(tenant_id, rest))
        return found

    def upsert(self, tenant_id: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        self.index.upsert(tenant_id, chunks, vectors)

    def delete(self, tenant_id: str, chunk_ids: Sequence[str]) -> None:
        self.index.delete(tenant_id, chunk_ids)

    def chunk_ids(self, tenant_id: str, article_id: str, version: int | None = None) -> list[str]:
        return self.index.chunk_ids(tenant_id, article_id, version)

    def chunks(self, tenant_id: str) -> list[Chunk]:
        return self.index.chunks(tenant_id)

    def count(self, tenant_id: str) -> int:
        return self.index.count(tenant_id)

    def delete_tenant(self, tenant_id: str) -> None:
        with self._lock:
            self._shelves.pop(tenant_id, None)
        self.index.delete_tenant(tenant_id)

    def describe(self) -> dict[str, object]:
        return {**self.index.describe(), "shelf_max_chunks": self.max_chunks}
