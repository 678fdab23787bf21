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

One state for all workers: with a ``SharedGeneration`` (the Store's per-tenant KB counter),
every flip also bumps the shared counter, and every search first reads it (one indexed
row); when another worker changed the KB the pointers are reloaded from the database
before the search takes its snapshot. So an article edited through any worker is what
every worker's next search sees, without a restart and without the event bus.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from typing import Protocol

log = logging.getLogger("switchboard.kb")

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


class SharedGeneration(Protocol):
    """A per-tenant change counter every worker can read (``core.db.store.Store`` is one)."""

    def kb_generation(self, tenant_id: str) -> int: ...

    def bump_kb_generation(self, tenant_id: str) -> int: ...


class LiveVersions:
    """Per-tenant live-version pointers, loaded lazily with ``loader(tenant)``; with
    ``shared``, reloaded whenever another worker changed the tenant's KB."""

    def __init__(
        self,
        loader: Callable[[str], dict[str, int]],
        *,
        grace_timeout_s: float = 10.0,
        shared: SharedGeneration | None = None,
    ) -> None:
        if grace_timeout_s <= 0:
            raise ValueError("grace_timeout_s must be positive")
        self._loader = loader
        self._views: dict[str, LiveView] = {}
        self._cond = threading.Condition(threading.RLock())
        self._readers: Counter[int] = Counter()
        self.grace_timeout_s = grace_timeout_s
        self.shared = shared
        self._seen: dict[str, int] = {}  # tenant -> shared generation the pointers reflect

    def _current(self, tenant_id: str) -> LiveView:
        current = self._views.get(tenant_id)
        if current is None:
            current = LiveView(dict(self._loader(tenant_id)), 0, next(_GENERATIONS))
            self._views[tenant_id] = current
        return current

    def _sync(self, tenant_id: str) -> None:
        """Reload the pointers when the shared counter moved (another worker's change)."""
        if self.shared is None:
            return
        try:
            shared = self.shared.kb_generation(tenant_id)
        except Exception as exc:  # noqa: BLE001  (the database is down: search what we have)
            log.warning("could not read the shared KB generation of %s: %s", tenant_id, exc)
            return
        with self._cond:
            # Nothing newer than what the pointers reflect (a turn's snapshot of the counter may
            # be older than a change another turn of this worker has seen already).
            if self._seen.get(tenant_id, -1) >= shared and tenant_id in self._views:
                return
        versions = dict(self._loader(tenant_id))
        with self._cond:
            if self._seen.get(tenant_id, -1) > shared:
                return  # a newer reload won the race
            # A new generation even when the pointers read the same: what is kept by generation
            # (``knowledge/index/chroma.py``) is read again after any change by another worker.
            base = self._views.get(tenant_id)
            pending = base.pending if base is not None else 0
            self._views[tenant_id] = LiveView(versions, pending, next(_GENERATIONS))
            self._seen[tenant_id] = shared

    def _publish(self, tenant_id: str) -> None:
        """Tell the other workers (after this worker's own flip)."""
        if self.shared is None:
            return
        try:
            generation = self.shared.bump_kb_generation(tenant_id)
        except Exception as exc:  # noqa: BLE001  (the change is stored; others catch up on the next bump)
            log.warning("could not bump the shared KB generation of %s: %s", tenant_id, exc)
            return
        with self._cond:
            # Our own pointers already include the change: no reload for our own bump.
            if self._seen.get(tenant_id, -1) == generation - 1:
                self._seen[tenant_id] = generation

    def view(self, tenant_id: str) -> LiveView:
        self._sync(tenant_id)
        with self._cond:
            return self._current(tenant_id)

    @contextmanager
    def reading(self, tenant_id: str) -> Iterator[LiveView]:
        """A snapshot for one search; retired chunks are not deleted while it is held."""
        self._sync(tenant_id)
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
        self._publish(tenant_id)
        return view.generation

    def forget(self, tenant_id: str) -> None:
        with self._cond:
            self._views.pop(tenant_id, None)
            self._seen.pop(tenant_id, None)
