"""One tenant's KB as the copilot needs it beyond search: the fingerprint of its internal
articles (what a suggested reply must never carry) and the ids of its articles. Built from
the index on first use and rebuilt when the tenant's chunk count changes (checked at most
every ``ttl_s`` seconds, in the background; a small KB is re-read then anyway), so an edited
article is picked up without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from copilot.leaks import InternalFingerprint
from copilot.refresh import Refreshing
from core.types import Visibility
from knowledge.documents import Chunk
from knowledge.index.base import Index

__all__ = ["Libraries", "TenantLibrary"]


@dataclass(frozen=True)
class TenantLibrary:
    fingerprint: InternalFingerprint
    article_ids: frozenset[str]
    internal_ids: frozenset[str]
    chunks: int
    languages: frozenset[str] = frozenset({"en"})  # the languages the KB is written in


def _latest(chunks: list[Chunk]) -> list[Chunk]:
    newest: dict[str, int] = {}
    for c in chunks:
        newest[c.article_id] = max(c.version, newest.get(c.article_id, 0))
    return [c for c in chunks if c.version == newest[c.article_id]]


def build_library(chunks: list[Chunk]) -> TenantLibrary:
    latest = _latest(chunks)
    internal = [c for c in latest if c.visibility == Visibility.internal]
    public = [c for c in latest if c.visibility != Visibility.internal]
    fingerprint = InternalFingerprint.build(
        [f"{c.title}\n{c.section}\n{c.text}" for c in internal], [f"{c.title}\n{c.section}\n{c.text}" for c in public]
    )
    return TenantLibrary(
        fingerprint=fingerprint,
        article_ids=frozenset(c.article_id for c in latest),
        internal_ids=frozenset(c.article_id for c in internal),
        chunks=len(chunks),
        languages=frozenset(c.language or "en" for c in latest) or frozenset({"en"}),
    )


@dataclass
class Libraries:
    index: Index
    ttl_s: float = 30.0
    rebuild_below: int = 5_000  # smaller KBs are re-read every ``ttl_s`` (an edit keeps the count)
    max_chunks: int = 20_000  # above this a fingerprint is not built (the replies are public units only)
    _cache: Refreshing[TenantLibrary] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._cache = Refreshing(self._build, self.ttl_s, name="copilot-library")

    def _build(self, tenant_id: str, previous: TenantLibrary | None) -> TenantLibrary:
        count = self.index.count(tenant_id)
        if previous is not None and previous.chunks == count and count > self.rebuild_below:
            return previous  # a large KB is re-read only when its size changed
        if count > self.max_chunks:
            return TenantLibrary(InternalFingerprint(), frozenset(), frozenset(), count)  # languages: assumed "en"
        return build_library(self.index.chunks(tenant_id))

    def __call__(self, tenant_id: str) -> TenantLibrary:
        """The tenant's library; an expired one is rebuilt in the background (``copilot.refresh``)."""
        assert self._cache is not None
        return self._cache.get(tenant_id)

    def forget(self, tenant_id: str) -> None:
        assert self._cache is not None
        self._cache.forget(tenant_id)
