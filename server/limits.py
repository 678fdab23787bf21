"""Limits that protect the service: message rate per widget session and per tenant (sliding
window, in memory per process). Breaches raise ``RateLimited`` -> 429 with ``Retry-After``
at once and a message that says what to do. Request size is limited in ``server.app`` (413).

Model calls are bounded where they happen, around generation only
(``core/models/guard.py``: a few slots with a short queue, a total deadline, a circuit
breaker); a turn that finds no free slot is answered without the model, never refused, and
turns that need no model never wait. ``ModelGate`` is that slot queue for callers that have
no answer without the model and must refuse instead (429).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from core.errors import ConfigurationError, RateLimited
from core.models.guard import ModelSlots
from core.settings import Settings

Clock = Callable[[], float]


class SlidingWindow:
    """At most ``limit`` hits per ``window_s`` seconds per key."""

    def __init__(self, limit: int, window_s: float = 60.0, clock: Clock = time.monotonic) -> None:
        if limit < 1 or window_s <= 0:
            raise ConfigurationError(f"A rate limit needs limit >= 1 and a positive window (got {limit}/{window_s}s)")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Record one hit; returns 0 when admitted, else the seconds until a slot frees."""
        now = self._clock()
        with self._lock:
            q = self._hits[key]
            while q and q[0] <= now - self.window_s:
                q.popleft()
            if len(q) >= self.limit:
                return max(0.0, q[0] + self.window_s - now)
            q.append(now)
            return 0.0


class ModelGate:
    """Caps concurrent model calls; a caller waits up to ``wait_s`` (and only while fewer than
    ``max_queue`` wait), else ``RateLimited`` at once."""

    def __init__(self, max_concurrent: int, wait_s: float, max_queue: int = 4) -> None:
        self._slots = ModelSlots(max_concurrent, max_queue, wait_s)
        self.max_concurrent = max_concurrent
        self.wait_s = wait_s

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slots.acquire():
            raise RateLimited(
                "The assistant is busy answering other customers right now; please send your message again "
                "in a few seconds.",
                retry_after_s=max(1.0, self.wait_s),
            )
        try:
            yield
        finally:
            self._slots.release()


@dataclass
class Limits:
    per_session: SlidingWindow
    per_tenant: SlidingWindow
    settings: Settings | None = None

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = time.monotonic) -> Limits:
        return cls(
            per_session=SlidingWindow(settings.messages_per_minute_per_session, 60.0, clock),
            per_tenant=SlidingWindow(settings.messages_per_minute_per_tenant, 60.0, clock),
            settings=settings,
        )

    def check_message(self, tenant_id: str, session_key: str) -> None:
        """Count one message; raise ``RateLimited`` when the session or tenant is over its rate."""
        wait = self.per_session.hit(f"{tenant_id}:{session_key}")
        if wait:
            raise RateLimited(
                f"You are sending messages too quickly (limit {self.per_session.limit} per minute); "
                f"please wait {int(wait) + 1} seconds.",
                retry_after_s=wait + 1,
            )
        wait = self.per_tenant.hit(tenant_id)
        if wait:
            raise RateLimited(
                f"This help desk is receiving too many messages right now (limit {self.per_tenant.limit} per "
                f"minute); please try again in {int(wait) + 1} seconds.",
                retry_after_s=wait + 1,
            )

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {
            "messages_per_minute_per_session": self.per_session.limit,
            "messages_per_minute_per_tenant": self.per_tenant.limit,
        }
        if self.settings is not None:
            s = self.settings
            out |= {
                "max_concurrent_model_calls": s.max_concurrent_model_calls,
                "model_queue_length": s.model_queue_length,
                "model_queue_wait_s": s.model_queue_wait_s,
                "model_timeout_s": s.model_timeout_s,
            }
        return out
