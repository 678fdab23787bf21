"""Vectors of knowledge-base text kept on disk, so that no process (after a restart, or a
second worker on the same data dir) embeds the same KB text twice.

``VectorFile`` is one SQLite file per embedding model
(``<data dir>/vectors/<backend>-<dim>-<digest of the model's description>.sqlite``) with
rows ``(key, vector)``: the key is the SHA-256 of the text (32 hex characters), the
vector its ``dim`` float32 values. Content-addressed: a new KB version keeps the vectors
of its unchanged text and adds only those of new text; nothing needs invalidating.

``PersistedEmbedder`` is an ``Embedder`` over another one: a text whose vector is in
memory or in the file gets that vector (the same model's output for the same text); the
others come from the inner embedder and are *not* written. Only ``remember(texts)``
writes, and callers pass it knowledge-base text only (``server/unit_vectors.py``: the
answer units of indexed chunks), so a customer's message or record is never put on disk.

A file that cannot be opened or written (read-only data dir, disk full) is logged once
and the embedder works as its inner one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from core.models.embed import Embedder

__all__ = ["PersistedEmbedder", "VectorFile", "text_key", "vector_file_for"]

log = logging.getLogger("switchboard.vectors")

_LOOKUP_BATCH = 500  # keys per SELECT (SQLite's variable limit is 32766; keep statements small)


def text_key(text: str) -> str:
    """The content address of a text: SHA-256, first 32 hex characters."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def vector_file_for(folder: Path, embedder: Embedder) -> Path:
    """The file for ``embedder``'s vectors in ``folder``: one per model and dimension."""
    digest = hashlib.sha256(json.dumps(embedder.describe(), sort_keys=True, default=str).encode()).hexdigest()[:8]
    return folder / f"{embedder.name}-{embedder.dim}-{digest}.sqlite"


class VectorFile:
    """A key -> float32 vector store in one SQLite file (WAL: readers never wait for the
    writer; several processes may share it). Thread-safe."""

    def __init__(self, path: Path, dim: int) -> None:
        if dim < 1:
            raise ValueError("dim must be positive")
        self.path = path
        self.dim = dim
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._broken = False

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is None and not self._broken:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
                self._conn = conn
            except (OSError, sqlite3.Error) as exc:
                self._broken = True
                log.warning("KB vectors are not kept on disk (%s: %s); they are computed in memory", self.path, exc)
        return self._conn

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of ``keys`` (absent keys are left out)."""
        out: dict[str, np.ndarray] = {}
        with self._lock:
            conn = self._connect()
            if conn is None:
                return out
            try:
                for start in range(0, len(keys), _LOOKUP_BATCH):
                    part = list(keys[start : start + _LOOKUP_BATCH])
                    marks = ",".join("?" * len(part))
                    for key, blob in conn.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", part):  # noqa: S608
                        vector = np.frombuffer(blob, dtype=np.float32)
                        if vector.shape == (self.dim,):
                            out[key] = vector
            except sqlite3.Error as exc:
                log.warning("reading KB vectors from %s failed: %s", self.path, exc)
        return out

    def has(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` are stored."""
        found: set[str] = set()
        with self._lock:
            conn = self._connect()
            if conn is None:
                return found
            try:
                for start in range(0, len(keys), _LOOKUP_BATCH):
                    part = list(keys[start : start + _LOOKUP_BATCH])
                    marks = ",".join("?" * len(part))
                    found.update(k for (k,) in conn.execute(f"SELECT key FROM vectors WHERE key IN ({marks})", part))  # noqa: S608
            except sqlite3.Error as exc:
                log.warning("reading KB vectors from %s failed: %s", self.path, exc)
        return found

    def put(self, items: Iterable[tuple[str, np.ndarray]]) -> int:
        """Store vectors (a key already stored keeps its vector); returns how many were given."""
        rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items]
        if not rows:
            return 0
        with self._lock:
            conn = self._connect()
            if conn is None:
                return 0
            try:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany("INSERT OR IGNORE INTO vectors (key, vector) VALUES (?, ?)", rows)
            except sqlite3.Error as exc:
                log.warning("writing KB vectors to %s failed: %s", self.path, exc)
                return 0
        return len(rows)

    def count(self) -> int:
        with self._lock:
            conn = self._connect()
            if conn is None:
                return 0
            return int(conn.execute("SELECT count(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class PersistedEmbedder:
    """``inner`` with the vectors of remembered (KB) text read from ``file``.

    ``embed``: vectors from an in-memory LRU of ``cache_size`` texts, then from the file,
    then from ``inner`` (not written). Keys looked up in the file and not found are not
    looked up again until this process remembers something (at most ``absent_size``)."""

    def __init__(self, inner: Embedder, file: VectorFile, cache_size: int = 20_000, absent_size: int = 50_000) -> None:
        if file.dim != inner.dim:
            raise ValueError(f"the vector file holds {file.dim}-d vectors; the embedder makes {inner.dim}-d")
        self.inner = inner
        self.file = file
        self.name = inner.name
        self.dim = inner.dim
        self.cache_size = cache_size
        self.absent_size = absent_size
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._absent: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.from_file = 0  # texts served from the file (since start)
        self.computed = 0  # texts handed to the inner embedder

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        keys = [text_key(t) for t in texts]
        missing: list[int] = []
        ask: list[str] = []
        with self._lock:
            for row, key in enumerate(keys):
                vector = self._memory.get(key)
                if vector is not None:
                    self._memory.move_to_end(key)
                    out[row] = vector
                else:
                    missing.append(row)
                    if key not in self._absent:
                        ask.append(key)
        if not missing:
            return out
        found = self.file.get(list(dict.fromkeys(ask))) if ask else {}
        with self._lock:
            self._keep(found)
            for key in ask:
                if key not in found:
                    self._absent[key] = None
            while len(self._absent) > self.absent_size:
                self._absent.popitem(last=False)
        compute = [row for row in missing if keys[row] not in found]
        for row in missing:
            if keys[row] in found:
                out[row] = found[keys[row]]
        if compute:
            self.from_file += len(missing) - len(compute)
            self.computed += len(compute)
            vectors = self.inner.embed([texts[row] for row in compute])
            for row, vector in zip(compute, vectors, strict=True):
                out[row] = vector
        else:
            self.from_file += len(missing)
        return out

    def remember(self, texts: Sequence[str], batch: int = 256) -> int:
        """Make sure the vectors of ``texts`` (knowledge-base text only) are in the file;
        returns how many had to be computed."""
        unique = list(dict.fromkeys(texts))
        keys = [text_key(t) for t in unique]
        present = self.file.has(keys)
        todo = [(k, t) for k, t in zip(keys, unique, strict=True) if k not in present]
        for start in range(0, len(todo), batch):
            part = todo[start : start + batch]
            vectors = self.inner.embed([t for _, t in part])
            self.file.put((k, v) for (k, _), v in zip(part, vectors, strict=True))
        with self._lock:
            self._absent.clear()  # what was absent may be stored now
        return len(todo)

    def _keep(self, found: dict[str, np.ndarray]) -> None:
        for key, vector in found.items():
            self._memory[key] = vector
            self._memory.move_to_end(key)
        while len(self._memory) > self.cache_size:
            self._memory.popitem(last=False)

    def describe(self) -> dict[str, object]:
        return self.inner.describe()
