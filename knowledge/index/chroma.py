"""Chroma: embedded on disk (default) or a Chroma server (scale-out).

One collection per tenant (isolation by construction), plus visibility and language
filters inside the query. Chroma is given our own embedding function so it never
downloads its default model.

A query asks Chroma for ids and distances only; the text and metadata of chunks of live
article versions are kept in memory by id (``chunk_cache_size``), because a live version's
chunks never change (an edit is a new version with new ids) and reading them back from
Chroma's SQLite cost more than the nearest-neighbour search itself (1.76 -> 0.75 ms per
query on the demo KB). Chunks not live when read (being written, or retired) are never
kept, and this index's own writes and deletes drop what they touch. A kept chunk is used
only by searches with the live snapshot (``LiveView.generation``) it was read under (every
KB change, in any worker, makes a new snapshot): a second line behind the rule that a chunk
id never names two texts (``knowledge/numbering.py``).

Collection handles are kept per process; a collection deleted through another worker (its
tenant deleted, and perhaps created again) is opened again on the first call that finds it
gone, instead of failing every search of the tenant until a restart.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import ConfigurationError
from core.models.embed import Embedder
from core.types import Visibility
from knowledge.documents import Chunk
from knowledge.index.base import INDEXES, Filters, Index

if TYPE_CHECKING:
    from core.settings import Settings


def _embedding_function(embedder: Embedder) -> Any:
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

    class SwitchboardEmbeddingFunction(EmbeddingFunction[Documents]):
        def __init__(self) -> None:
            self._embedder = embedder

        def __call__(self, input: Documents) -> Embeddings:
            return [row for row in self._embedder.embed(list(input))]

        @staticmethod
        def name() -> str:
            return "switchboard"

        def get_config(self) -> dict[str, Any]:
            return {}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> EmbeddingFunction[Documents]:
            raise ConfigurationError("Switchboard collections are opened by Switchboard only")

    return SwitchboardEmbeddingFunction()


class _ReadWriteLock:
    """Many concurrent queries or one write. Chroma's embedded engine can return ids without
    their metadata, or miss just-written vectors, when a query overlaps a write; queries wait
    for a write in progress instead (a write is one batch, a fraction of a second)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and self._readers == 0)
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class _Collection:
    """A Chroma collection handle that opens the collection again (``reopen``) when a call
    finds it deleted by another process, and runs the call once more on the new one."""

    def __init__(self, reopen: Callable[[], Any]) -> None:
        self._reopen = reopen
        self._col = reopen()

    @property
    def name(self) -> str:
        return str(self._col.name)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        from chromadb.errors import NotFoundError

        col = self._col
        try:
            return getattr(col, method)(*args, **kwargs)
        except NotFoundError:
            if self._col is col:
                self._col = self._reopen()
            return getattr(self._col, method)(*args, **kwargs)

    def query(self, **kwargs: Any) -> Any:
        return self._call("query", **kwargs)

    def get(self, **kwargs: Any) -> Any:
        return self._call("get", **kwargs)

    def upsert(self, **kwargs: Any) -> Any:
        return self._call("upsert", **kwargs)

    def delete(self, **kwargs: Any) -> Any:
        return self._call("delete", **kwargs)

    def count(self) -> int:
        return int(self._call("count"))


def collection_name(tenant_id: str, visibility: Visibility = Visibility.public) -> str:
    """One collection per tenant and visibility: isolation by construction, and a public-only
    search (the bot's) needs no metadata filter, which keeps Chroma on its fast path."""
    safe = re.sub(r"[^a-zA-Z0-9_-]", "_", tenant_id)[:48]
    return f"kb_{safe}" if visibility == Visibility.public else f"kb_{safe}__{visibility.value}"


class ChromaIndex:
    name = "chroma"

    def __init__(
        self,
        embedder: Embedder,
        *,
        path: Path | None = None,
        host: str = "",
        port: int = 8000,
        chunk_cache_size: int = 50_000,
    ) -> None:
        """``chunk_cache_size``: live chunks kept in memory by id (text and metadata, about
        1-2 kB each; 0 reads every hit back from Chroma)."""
        if not path and not host:
            raise ConfigurationError("ChromaIndex needs a path (embedded) or a host (server)")
        self.embedder = embedder
        self.path = path
        self.host = host
        self.port = port
        self._client: Any = None
        self._collections: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._rw = _ReadWriteLock()
        # (collection, id) -> (live snapshot's generation when read, chunk)
        self._chunks: OrderedDict[tuple[str, str], tuple[int, Chunk]] = OrderedDict()
        self._chunk_cache_size = chunk_cache_size
        self._chunks_lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
            if self.host:
                self._client = chromadb.HttpClient(host=self.host, port=self.port, settings=chroma_settings)
            else:
                assert self.path is not None
                self.path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(self.path), settings=chroma_settings)
        return self._client

    def _collection(self, tenant_id: str, visibility: Visibility = Visibility.public) -> Any:
        key = collection_name(tenant_id, visibility)

        def reopen() -> Any:
            self._forget(tenant_id)  # chunks kept from a collection deleted elsewhere
            return self.client.get_or_create_collection(
                key,
                embedding_function=_embedding_function(self.embedder),
                metadata={"hnsw:space": "cosine", "tenant_id": tenant_id, "visibility": visibility.value},
            )

        with self._lock:
            col = self._collections.get(key)
            if col is None:
                col = self._collections[key] = _Collection(reopen)
            return col

    def _all(self, tenant_id: str) -> list[Any]:
        return [self._collection(tenant_id, v) for v in Visibility]

    def upsert(self, tenant_id: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if not chunks:
            return
        if any(c.tenant_id != tenant_id for c in chunks):
            raise ConfigurationError("Every chunk must belong to the tenant being written")
        batch = 2000
        for visibility in Visibility:
            rows = [i for i, c in enumerate(chunks) if c.visibility == visibility]
            if not rows:
                continue
            col = self._collection(tenant_id, visibility)
            self._forget(tenant_id, [chunks[i].id for i in rows])
            for start in range(0, len(rows), batch):
                part = rows[start : start + batch]
                with self._rw.write():
                    col.upsert(
                        ids=[chunks[i].id for i in part],
                        embeddings=[vectors[i] for i in part],
                        documents=[chunks[i].text for i in part],
                        metadatas=[chunks[i].metadata() for i in part],
                    )

    def delete(self, tenant_id: str, chunk_ids: Sequence[str]) -> None:
        if chunk_ids:
            self._forget(tenant_id, chunk_ids)
            for col in self._all(tenant_id):
                with self._rw.write():
                    col.delete(ids=list(chunk_ids))

    def query(self, vector: np.ndarray, k: int, filters: Filters) -> list[tuple[Chunk, float]]:
        if k < 1:
            return []
        # Chunks that are not live (written ahead of a version flip, or retired and not yet
        # deleted) are few and counted: fetch that many more, so the live top-k is exact.
        extra = filters.live.pending if filters.live is not None else 0
        where = {"language": filters.language} if filters.language else None
        out: list[tuple[Chunk, float]] = []
        with self._rw.read():
            for visibility in sorted(filters.visibilities, key=lambda v: v.value):
                col = self._collection(filters.tenant_id, visibility)
                # No count() first: Chroma returns what there is when asked for more (an empty
                # collection: nothing), and count() holds the GIL for a SQLite round trip,
                # 10 % of a loaded server's Python time (bench load, py-spy --gil).
                res = col.query(query_embeddings=[vector], n_results=k + extra, where=where, include=["distances"])
                found = self._read_chunks(col, [str(i) for i in res["ids"][0]], filters)
                for chunk_id, dist in zip(res["ids"][0], res["distances"][0], strict=True):
                    chunk = found.get(str(chunk_id))
                    if chunk is None:
                        continue  # deleted while this query ran: a retired version, never a live one
                    if filters.admits(chunk):  # defence in depth: tenant, visibility, language, live
                        out.append((chunk, 1.0 - float(dist)))
        out.sort(key=lambda pair: pair[1], reverse=True)
        return out[:k]

    def _read_chunks(self, col: Any, ids: list[str], filters: Filters) -> dict[str, Chunk]:
        """The chunks of ``ids`` in ``col``: from memory, the rest read from Chroma (one
        ``get``); those of live versions are kept for this snapshot (see the module docstring)."""
        name = str(col.name)
        live = filters.live
        generation = live.generation if live is not None else None
        out: dict[str, Chunk] = {}
        if generation is not None:
            with self._chunks_lock:
                for chunk_id in ids:
                    kept = self._chunks.get((name, chunk_id))
                    if kept is not None and kept[0] == generation:
                        self._chunks.move_to_end((name, chunk_id))
                        out[chunk_id] = kept[1]
        missing = [i for i in ids if i not in out]
        if not missing:
            return out
        res = col.get(ids=missing, include=["documents", "metadatas"])
        keep: list[tuple[str, Chunk]] = []
        for chunk_id, text, meta in zip(res["ids"], res["documents"], res["metadatas"], strict=True):
            if text is None or meta is None:
                continue
            chunk = Chunk.from_metadata(text, meta)
            out[str(chunk_id)] = chunk
            if live is not None and live.is_live(chunk.article_id, chunk.version):
                keep.append((str(chunk_id), chunk))
        if keep and generation is not None and self._chunk_cache_size > 0:
            with self._chunks_lock:
                for chunk_id, chunk in keep:
                    self._chunks[(name, chunk_id)] = (generation, chunk)
                    self._chunks.move_to_end((name, chunk_id))
                while len(self._chunks) > self._chunk_cache_size:
                    self._chunks.popitem(last=False)
        return out

    def _forget(self, tenant_id: str, chunk_ids: Sequence[str] | None = None) -> None:
        """Drop kept chunks of the tenant (``chunk_ids``: only those)."""
        names = {collection_name(tenant_id, v) for v in Visibility}
        with self._chunks_lock:
            if chunk_ids is None:
                for key in [key for key in self._chunks if key[0] in names]:
                    del self._chunks[key]
                return
            for name in names:
                for chunk_id in chunk_ids:
                    self._chunks.pop((name, chunk_id), None)

    def chunk_ids(self, tenant_id: str, article_id: str, version: int | None = None) -> list[str]:
        where: dict[str, Any] = {"article_id": article_id}
        if version is not None:
            where = {"$and": [where, {"version": version}]}
        return [str(i) for col in self._all(tenant_id) for i in col.get(where=where, include=[])["ids"]]

    def chunks(self, tenant_id: str) -> list[Chunk]:
        out: list[Chunk] = []
        page = 5000  # Chroma's SQLite refuses one query over every id of a large collection
        with self._rw.read():
            for col in self._all(tenant_id):
                total = int(col.count())
                for offset in range(0, total, page):
                    res = col.get(include=["documents", "metadatas"], limit=page, offset=offset)
                    out.extend(
                        Chunk.from_metadata(t, m)
                        for t, m in zip(res["documents"], res["metadatas"], strict=True)
                        if t is not None and m is not None
                    )
        return out

    def vectors(self, tenant_id: str, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        ids = list(dict.fromkeys(chunk_ids))
        out: dict[str, np.ndarray] = {}
        if not ids:
            return out
        with self._rw.read():
            for col in self._all(tenant_id):
                res = col.get(ids=ids, include=["embeddings"])
                vecs = res.get("embeddings")
                if vecs is None:
                    continue
                for i, v in zip(res["ids"], vecs, strict=True):
                    out[str(i)] = np.asarray(v, dtype=np.float32)
        return out

    def count(self, tenant_id: str) -> int:
        return sum(int(col.count()) for col in self._all(tenant_id))

    def delete_tenant(self, tenant_id: str) -> None:
        self._forget(tenant_id)
        for visibility in Visibility:
            name = collection_name(tenant_id, visibility)
            with self._lock:
                self._collections.pop(name, None)
                try:
                    self.client.delete_collection(name)
                except Exception:  # noqa: BLE001 - chroma raises various types for "does not exist"
                    continue

    def describe(self) -> dict[str, object]:
        return {"backend": self.name, "path": str(self.path) if self.path else None, "host": self.host or None}


def _embedded(settings: Settings, embedder: Embedder) -> Index:
    return ChromaIndex(embedder, path=settings.resolved_chroma_path)


def _server(settings: Settings, embedder: Embedder) -> Index:
    return ChromaIndex(embedder, host=settings.chroma_host, port=settings.chroma_port)


INDEXES.register("chroma", _embedded)
INDEXES.register("chroma-server", _server)
