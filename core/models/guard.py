"""Bounded model calls: a short queue for a few slots, a total deadline, a circuit breaker.

``GuardedChatModel`` wraps any ``ChatModel`` (the container wraps the configured backend):

- **Slots**: at most ``max_concurrent`` generations run at once. A caller waits for a slot
  at most ``queue_wait_s`` and only while fewer than ``max_queue`` callers already wait;
  otherwise ``ModelBusy`` is raised at once. Only generation holds a slot, so work that
  needs no model never queues behind it.
- **Deadline**: every ``complete`` and ``stream`` ends by ``params.timeout_s`` after the
  call, or earlier when the caller set a shorter budget for the whole turn with
  ``model_budget`` (all model calls of one bot turn share it). The backend runs in a worker
  thread; at the deadline the caller stops waiting and gets ``ModelTimeout`` (a stream that
  drips one token every 20 s cannot hold a turn), and the worker is told to stop.
- **Circuit breaker**: after ``failures`` consecutive failures (unavailable, timed out,
  malformed output) calls fail at once with ``ModelUnavailable`` for ``cooldown_s``
  seconds; then one trial call is let through (half-open) and its outcome closes or
  re-opens the breaker (the classic pattern of Nygard, *Release It!*, ch. 5).
- **Errors**: anything a backend raises that is not a ``SwitchboardError`` (a JSON error
  from a malformed response, a broken stream) becomes ``ModelUnavailable``.

Every error raised here is an ``UpstreamError``: callers already fall back to the
extractive answer on it.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NoReturn

from core.errors import ConfigurationError, ModelTimeout, ModelUnavailable, SwitchboardError, UpstreamError
from core.models.chat import ChatModel, Completion, GenerationParams

if TYPE_CHECKING:
    from core.settings import Settings

Clock = Callable[[], float]

__all__ = [
    "CircuitBreaker",
    "GuardedChatModel",
    "ModelBusy",
    "ModelCancelled",
    "ModelSlots",
    "guard_from_settings",
    "model_budget",
]


class ModelBusy(ModelUnavailable):
    """Every model slot is taken and the queue is full (or the wait ran out)."""


class ModelCancelled(ModelUnavailable):
    """The caller no longer wants the output (e.g. an agent took the conversation over)."""


Idle = Callable[[], AbstractContextManager[object]]


@dataclass(frozen=True)
class _Budget:
    deadline: float  # time.monotonic() value
    cancelled: Callable[[], bool] | None
    idle: Idle | None = None


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("model_budget", default=None)


@contextmanager
def model_budget(
    seconds: float, cancelled: Callable[[], bool] | None = None, idle: Idle | None = None
) -> Iterator[None]:
    """All model calls made inside this block (same thread or context) end within ``seconds``
    in total; ``cancelled()`` is polled between streamed tokens and before a call starts.
    ``idle()``: a context entered while the caller only waits for the model (for a slot, or
    for the next token), e.g. to let another turn compute meanwhile (``server/turns.py``)."""
    if seconds <= 0:
        raise ConfigurationError("A model budget must be positive")
    outer = _BUDGET.get()
    deadline = time.monotonic() + seconds
    if outer is not None:
        deadline = min(deadline, outer.deadline)
    token = _BUDGET.set(
        _Budget(
            deadline,
            cancelled or (outer.cancelled if outer else None),
            idle or (outer.idle if outer else None),
        )
    )
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _idle() -> AbstractContextManager[object]:
    budget = _BUDGET.get()
    return budget.idle() if budget is not None and budget.idle is not None else nullcontext()


class ModelSlots:
    """A counting semaphore with a bounded queue: ``acquire`` returns False at once when
    ``max_queue`` callers already wait, else waits up to ``wait_s`` for a slot."""

    def __init__(self, max_concurrent: int, max_queue: int, wait_s: float) -> None:
        if max_concurrent < 1:
            raise ConfigurationError("SWITCHBOARD_MAX_CONCURRENT_MODEL_CALLS must be at least 1")
        if max_queue < 0 or wait_s < 0:
            raise ConfigurationError("The model queue length and wait must not be negative")
        self.max_concurrent = max_concurrent
        self.max_queue = max_queue
        self.wait_s = wait_s
        self._cond = threading.Condition()
        self._busy = 0
        self._waiting = 0

    @property
    def busy(self) -> int:
        return self._busy

    @property
    def waiting(self) -> int:
        return self._waiting

    def acquire(self, wait_s: float | None = None) -> bool:
        wait = self.wait_s if wait_s is None else min(wait_s, self.wait_s)
        with self._cond:
            if self._busy < self.max_concurrent and self._waiting == 0:
                self._busy += 1
                return True
            if self._waiting >= self.max_queue or wait <= 0:
                return False
            self._waiting += 1
            try:
                if self._cond.wait_for(lambda: self._busy < self.max_concurrent, timeout=wait):
                    self._busy += 1
                    return True
                return False
            finally:
                self._waiting -= 1

    def release(self) -> None:
        with self._cond:
            self._busy = max(0, self._busy - 1)
            self._cond.notify()


class CircuitBreaker:
    """closed -> (``failures`` in a row) -> open -> (``cooldown_s``) -> half-open: one trial."""

    def __init__(self, failures: int = 3, cooldown_s: float = 30.0, clock: Clock = time.monotonic) -> None:
        if failures < 1 or cooldown_s <= 0:
            raise ConfigurationError("A circuit breaker needs failures >= 1 and a positive cooldown")
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._count = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "half-open" if self._clock() - self._opened_at >= self.cooldown_s else "open"

    def retry_after_s(self) -> float:
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._opened_at + self.cooldown_s - self._clock())

    def allow(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            if self._clock() - self._opened_at < self.cooldown_s or self._trial:
                return False
            self._trial = True  # half-open: exactly one caller tries
            return True

    def success(self) -> None:
        with self._lock:
            self._count, self._opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self._count += 1
            if self._trial or self._count >= self.failures:
                self._opened_at, self._trial = self._clock(), False

    def abandon(self) -> None:
        """A trial call ended without a verdict (busy, cancelled): let another caller try."""
        with self._lock:
            self._trial = False


_END = object()


class GuardedChatModel:
    """A ``ChatModel`` whose calls are bounded in concurrency, time and failure rate."""

    def __init__(
        self,
        inner: ChatModel,
        slots: ModelSlots,
        breaker: CircuitBreaker,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self.inner = inner
        self.slots = slots
        self.breaker = breaker
        self._clock = clock
        self.name = inner.name
        self.can_stream = inner.can_stream
        self.follows_instructions = inner.follows_instructions

    def __getattr__(self, item: str) -> Any:  # backend extras (warm_up, count_tokens, prompts)
        return getattr(self.inner, item)

    # -- the protocol -------------------------------------------------------------------

    def complete(self, prompt: str, params: GenerationParams) -> Completion:
        bounded, deadline, cancelled = self._enter(params)
        box: queue.Queue[object] = queue.Queue(maxsize=1)

        def work() -> None:
            try:
                box.put(self.inner.complete(prompt, bounded))
            except BaseException as exc:  # noqa: BLE001  (handed to the caller's thread)
                box.put(exc)
            finally:
                self.slots.release()

        threading.Thread(target=work, name=f"model-{self.name}", daemon=True).start()
        result = self._wait(box, deadline, cancelled)
        if not isinstance(result, Completion):
            self._fail(ModelUnavailable(f"The {self.name} model returned {type(result).__name__}, not a completion"))
        self.breaker.success()
        return result

    def stream(self, prompt: str, params: GenerationParams) -> Iterator[str]:
        bounded, deadline, cancelled = self._enter(params)
        pieces: queue.Queue[object] = queue.Queue()
        stop = threading.Event()

        def work() -> None:
            try:
                source = self.inner.stream(prompt, bounded)
                try:
                    for piece in source:
                        if stop.is_set():
                            break
                        pieces.put(piece)
                finally:
                    close = getattr(source, "close", None)
                    if close is not None:
                        close()
                pieces.put(_END)
            except BaseException as exc:  # noqa: BLE001  (handed to the caller's thread)
                pieces.put(exc)
            finally:
                self.slots.release()

        threading.Thread(target=work, name=f"model-{self.name}-stream", daemon=True).start()
        finished = False
        try:
            while True:
                item = self._wait(pieces, deadline, cancelled)
                if item is _END:
                    break
                if not isinstance(item, str):
                    self._fail(ModelUnavailable(f"The {self.name} model streamed {type(item).__name__}, not text"))
                yield item
            finished = True
            self.breaker.success()
        finally:
            stop.set()
            if not finished:
                self.breaker.abandon()  # the caller stopped reading, or an error already counted

    def describe(self) -> dict[str, object]:
        out = dict(self.inner.describe())
        out["guard"] = {
            "max_concurrent": self.slots.max_concurrent,
            "max_queue": self.slots.max_queue,
            "queue_wait_s": self.slots.wait_s,
            "breaker_failures": self.breaker.failures,
            "breaker_cooldown_s": self.breaker.cooldown_s,
        }
        return out

    # -- internals ----------------------------------------------------------------------

    def _enter(self, params: GenerationParams) -> tuple[GenerationParams, float, Callable[[], bool] | None]:
        """Check cancellation and the breaker, take a slot; returns the params bounded by
        the remaining time, the absolute deadline and the cancellation check."""
        budget = _BUDGET.get()
        now = self._clock()
        deadline = now + params.timeout_s
        cancelled = None
        if budget is not None:
            deadline = min(deadline, budget.deadline)
            cancelled = budget.cancelled
        if cancelled is not None and cancelled():
            raise ModelCancelled("The turn was cancelled before the model was called")
        remaining = deadline - now
        if remaining <= 0:
            raise ModelTimeout(f"No time left for the {self.name} model in this turn")
        if not self.breaker.allow():
            raise ModelUnavailable(
                f"The {self.name} model failed repeatedly; not calling it for "
                f"{self.breaker.retry_after_s():.0f} more seconds"
            )
        with _idle():
            acquired = self.slots.acquire(remaining)
        if not acquired:
            self.breaker.abandon()
            raise ModelBusy(f"Every {self.name} model slot is busy")
        remaining = deadline - self._clock()
        return replace(params, timeout_s=max(0.05, remaining)), deadline, cancelled

    def _wait(self, box: queue.Queue[object], deadline: float, cancelled: Callable[[], bool] | None) -> object:
        """The next item from the worker, or an error at the deadline / on cancellation."""
        with _idle():  # only waiting: another turn may compute meanwhile
            return self._next(box, deadline, cancelled)

    def _next(self, box: queue.Queue[object], deadline: float, cancelled: Callable[[], bool] | None) -> object:
        while True:
            if cancelled is not None and cancelled():
                self.breaker.abandon()
                raise ModelCancelled("The turn was cancelled while the model was generating")
            remaining = deadline - self._clock()
            if remaining <= 0:
                self._fail(ModelTimeout(f"The {self.name} model did not finish within its deadline"))
            try:
                item = box.get(timeout=min(remaining, 0.25) if cancelled is not None else remaining)
            except queue.Empty:
                continue
            if isinstance(item, BaseException):
                if isinstance(item, ModelBusy | ModelCancelled):
                    self.breaker.abandon()
                    raise item
                if isinstance(item, UpstreamError):
                    self._fail(item)
                if isinstance(item, SwitchboardError) or not isinstance(item, Exception):
                    self.breaker.abandon()
                    raise item
                self._fail(ModelUnavailable(f"The {self.name} model failed: {type(item).__name__}: {item}"), item)
            return item

    def _fail(self, exc: UpstreamError, cause: BaseException | None = None) -> NoReturn:
        self.breaker.failure()
        if cause is not None:
            raise exc from cause
        raise exc


def guard_from_settings(model: ChatModel, settings: Settings) -> GuardedChatModel:
    """The configured backend behind the slots, deadline and breaker of ``settings``."""
    return GuardedChatModel(
        model,
        ModelSlots(settings.max_concurrent_model_calls, settings.model_queue_length, settings.model_queue_wait_s),
        CircuitBreaker(settings.model_breaker_failures, settings.model_breaker_cooldown_s),
    )
