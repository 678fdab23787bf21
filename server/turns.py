"""Bot turns in flight in this process, the takeover signal that stops them, and the
slots that bound how many compute at once (``ComputeSlots``).

An agent who claims or replies takes the conversation over: ``take_over`` tells every turn
of that conversation running in this process at once; a turn running in another worker
learns it from the database (``TakeoverWatch`` reads the conversation's state at most every
``poll_s`` seconds while it generates). Either way the turn's text is neither streamed nor
stored (``server/service.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class _Conversation:
    taken_over: threading.Event = field(default_factory=threading.Event)
    turns: int = 0


class TurnRegistry:
    """Which customer messages are being answered here, per conversation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conversations: dict[str, _Conversation] = {}
        self._messages: set[str] = set()

    @contextmanager
    def turn(self, conversation_id: str, message_id: str) -> Iterator[threading.Event]:
        """Mark one turn in flight; yields the conversation's takeover event."""
        with self._lock:
            conv = self._conversations.setdefault(conversation_id, _Conversation())
            conv.turns += 1
            self._messages.add(message_id)
        try:
            yield conv.taken_over
        finally:
            with self._lock:
                conv.turns -= 1
                self._messages.discard(message_id)
                if conv.turns <= 0:
                    self._conversations.pop(conversation_id, None)

    def in_flight(self, message_id: str) -> bool:
        with self._lock:
            return message_id in self._messages

    def take_over(self, conversation_id: str) -> None:
        with self._lock:
            conv = self._conversations.get(conversation_id)
        if conv is not None:
            conv.taken_over.set()


class ComputeSlots:
    """At most ``n`` bot turns compute at once in this process; the others wait in arrival
    order. A turn that only waits for the model gives its slot up meanwhile (``idle``, passed
    to ``core.models.guard.model_budget``), so a slow or dripping model never holds the turns
    that need no model.

    Why bound it: Python runs one thread at a time, so twenty computing turns finish no
    sooner than four, and every one of them (and the event loop answering the health check)
    waits longer for its turn (``bench load``: docs/operations.md)."""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("at least one turn must be able to compute")
        self.n = n
        self._semaphore = threading.Semaphore(n)
        self._held = threading.local()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Compute in this block (the calling thread takes a slot, waiting for one)."""
        if getattr(self._held, "on", False):  # already held by this thread
            yield
            return
        self._semaphore.acquire()
        self._held.on = True
        try:
            yield
        finally:
            self._held.on = False
            self._semaphore.release()

    @contextmanager
    def idle(self) -> Iterator[None]:
        """Only wait in this block: the slot of this thread (if it holds one) is free meanwhile."""
        if not getattr(self._held, "on", False):
            yield
            return
        self._held.on = False
        self._semaphore.release()
        try:
            yield
        finally:
            self._semaphore.acquire()
            self._held.on = True


class TakeoverWatch:
    """``watch()`` is True once an agent took the conversation over: the in-process event
    at once, or a stored state outside ``bot_states`` (``read_state()``, polled at most
    every ``poll_s``)."""

    def __init__(
        self,
        event: threading.Event,
        read_state: Callable[[], str | None],
        *,
        bot_states: frozenset[str] = frozenset({"bot"}),
        poll_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._event = event
        self._read_state = read_state
        self._bot_states = bot_states
        self._poll_s = poll_s
        self._clock = clock
        self._next_poll = clock() + poll_s
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        if self._event.is_set():
            return True
        with self._lock:
            now = self._clock()
            if now < self._next_poll:
                return False
            self._next_poll = now + self._poll_s
        try:
            state = self._read_state()
        except Exception:  # noqa: BLE001  (cannot tell: keep going; the final store checks again)
            return False
        if state is not None and state not in self._bot_states:
            self._event.set()
            return True
        return False
