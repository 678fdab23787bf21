"""Which version of each article is live, per tenant: the pointer that makes a version
swap atomic for searches running at the same time.

A load writes the new version's chunks first (invisible: not live yet), then flips the
pointers of a whole batch in one assignment, waits until every search that started
before the flip has finished (a grace period, as in read-copy-update), then deletes the
old chunks. A search registers and takes one ``LiveView`` snapshot at its start and both
indexes filter with it, so it sees exactly one version of every article: never both,
never neither.

The pointers live in this process; the database row (``Article.current_version``) is the
source they are loaded from.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count

_GENERATIONS = count(1)


@dataclass(frozen=True)
class LiveView:
    """An immutable snapshot: article id -> live version, plus how many indexed chunks are
    not live right now (written ahead of a flip, or not yet deleted after one)."""

    versions: Mapping[str, int] = field(default_factory=dict)
    pending: int = 0
    generation: int = 0

    def is_live(self, article_id: str, version: int) -> bool:
        return self.versions.get(article_id) == version


class LiveVersions:
    """Per-tenant live-version pointers, loaded lazily with ``loader(tenant)``."""

    def __init__(self, loader: Callable[[str], dict[str, int]], *, grace_timeout_s: float = 10.0) -> None:
        if grace_timeout_s <= 0:
            raise ValueError("grace_timeout_s must be positive")
        self._loader = loader
        self._views: dict[str, LiveView] = {}
        self._cond = threading.Condition(threading.RLock())
        self._readers: Counter[int] = Counter()
        self.grace_timeout_s = grace_timeout_s

    def _current(self, tenant_id: str) -> LiveView:
        current = self._views.get(tenant_id)
        if current is None:
            current = LiveView(dict(self._loader(tenant_id)), 0, next(_GENERATIONS))
            self._views[tenant_id] = current
        return current

    def view(self, tenant_id: str) -> LiveView:
        with self._cond:
            return self._current(tenant_id)

    @contextmanager
    def reading(self, tenant_id: str) -> Iterator[LiveView]:
        """A snapshot for one search; retired chunks are not deleted while it is held."""
        with self._cond:
            view = self._current(tenant_id)
            self._readers[view.generation] += 1
        try:
            yield view
        finally:
            with self._cond:
                self._readers[view.generation] -= 1
                if self._readers[view.generation] <= 0:
                    del self._readers[view.generation]
                self._cond.notify_all()

    def wait_for_readers(self, generation: int) -> bool:
        """Block until no search holds a snapshot older than ``generation``."""
        with self._cond:
            return self._cond.wait_for(lambda: all(g >= generation for g in self._readers), self.grace_timeout_s)

    def add_pending(self, tenant_id: str, n: int) -> None:
        """Chunks were (or are about to be) written that are not live, or were deleted."""
        with self._cond:
            base = self._current(tenant_id)
            self._views[tenant_id] = LiveView(base.versions, max(0, base.pending + n), next(_GENERATIONS))

    def flip(self, tenant_id: str, changes: Mapping[str, int | None], *, pending_delta: int = 0) -> int:
        """Make ``changes`` live at once (``None`` removes an article); returns the new generation."""
        with self._cond:
            base = self._current(tenant_id)
            versions = dict(base.versions)
            for article_id, version in changes.items():
                if version is None:
                    versions.pop(article_id, None)
                else:
                    versions[article_id] = version
            view = LiveView(versions, max(0, base.pending + pending_delta), next(_GENERATIONS))
            self._views[tenant_id] = view
            return view.generation

    def forget(self, tenant_id: str) -> None:
        with self._cond:
            self._views.pop(tenant_id, None)
