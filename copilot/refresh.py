"""Per-tenant values that are rebuilt now and then, off the suggestion path.

The copilot reads a few things built from a tenant's whole KB (its subjects, the fingerprint
of its internal articles). They are rebuilt every ``ttl_s`` seconds so an edited KB is
picked up without a restart; rebuilding in the request that finds the value expired would
make that request wait (reading every chunk: milliseconds for a help center, a second for
ten thousand FAQ snippets), and with conversations a minute apart nearly every request
would. So an expired value is still returned and rebuilt on a background thread; only the
first request for a tenant builds it in line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Refreshing"]

V = TypeVar("V")

log = logging.getLogger("switchboard.copilot")


class Refreshing(Generic[V]):
    """``get(tenant)`` returns ``build(tenant, previous)``'s latest result; once it is
    ``ttl_s`` old the next ``get`` starts a rebuild on a background thread and returns the
    previous value meanwhile (a failed rebuild keeps it, and is retried after ``ttl_s``)."""

    def __init__(self, build: Callable[[str, V | None], V], ttl_s: float, *, name: str = "copilot-refresh") -> None:
        if ttl_s < 0:
            raise ValueError("ttl_s must be >= 0")
        self.build = build
        self.ttl_s = ttl_s
        self.name = name
        self._values: dict[str, tuple[float, V]] = {}
        self._running: set[str] = set()
        self._epoch: dict[str, int] = {}  # bumped by ``forget``: a rebuild started before it is dropped
        self._lock = threading.Lock()

    def get(self, tenant_id: str) -> V:
        with self._lock:
            hit = self._values.get(tenant_id)
            stale = hit is not None and time.monotonic() - hit[0] >= self.ttl_s
            start = stale and tenant_id not in self._running
            if start:
                self._running.add(tenant_id)
            epoch = self._epoch.get(tenant_id, 0)
        if hit is None:
            value = self.build(tenant_id, None)
            with self._lock:
                self._values.setdefault(tenant_id, (time.monotonic(), value))
                return self._values[tenant_id][1]
        if start:
            threading.Thread(target=self._rebuild, args=(tenant_id, hit[1], epoch), name=self.name, daemon=True).start()
        return hit[1]

    def _rebuild(self, tenant_id: str, previous: V, epoch: int) -> None:
        try:
            value = self.build(tenant_id, previous)
        except Exception:  # noqa: BLE001  (the previous value serves until the next try)
            log.exception("%s: rebuilding for tenant %s failed", self.name, tenant_id)
            value = previous
        with self._lock:
            if self._epoch.get(tenant_id, 0) == epoch and tenant_id in self._values:
                self._values[tenant_id] = (time.monotonic(), value)
            self._running.discard(tenant_id)

    def forget(self, tenant_id: str) -> None:
        with self._lock:
            self._values.pop(tenant_id, None)
            self._epoch[tenant_id] = self._epoch.get(tenant_id, 0) + 1
