"""Bounded model calls (core/models/guard.py): a dripping or hung model cannot hold a turn,
a failing one is not called again for a while, and a full queue answers at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from core.errors import ModelTimeout, ModelUnavailable
from core.models.chat import Completion, GenerationParams
from core.models.fake import ScriptedChatModel
from core.models.guard import CircuitBreaker, GuardedChatModel, ModelBusy, ModelCancelled, ModelSlots, model_budget


class DrippingModel(ScriptedChatModel):
    """Streams one token every ``every_s`` seconds, forever (or until told to stop)."""

    def __init__(self, every_s: float) -> None:
        super().__init__()
        self.every_s = every_s
        self.stopped = threading.Event()

    def stream(self, prompt: str, params: GenerationParams) -> Iterator[str]:
        try:
            while True:
                time.sleep(self.every_s)
                yield "drip "
        finally:
            self.stopped.set()

    def complete(self, prompt: str, params: GenerationParams) -> Completion:
        time.sleep(60)
        return Completion("late")


class BrokenModel(ScriptedChatModel):
    """Returns something that is not JSON: the backend's parser raises a plain ValueError."""

    def complete(self, prompt: str, params: GenerationParams) -> Completion:
        raise ValueError("Expecting value: line 1 column 1 (char 0)")


def _guard(model: ScriptedChatModel, *, slots: int = 2, queue: int = 2, wait_s: float = 1.0) -> GuardedChatModel:
    return GuardedChatModel(model, ModelSlots(slots, queue, wait_s), CircuitBreaker(failures=2, cooldown_s=60))


def test_a_dripping_stream_ends_at_the_deadline_and_the_worker_stops() -> None:
    model = DrippingModel(every_s=0.2)
    guarded = _guard(model)
    start = time.monotonic()
    pieces: list[str] = []
    with pytest.raises(ModelTimeout):
        for piece in guarded.stream("q", GenerationParams(timeout_s=0.7)):
            pieces.append(piece)
    elapsed = time.monotonic() - start
    assert 0.6 <= elapsed < 1.0, elapsed
    assert 1 <= len(pieces) <= 4
    assert model.stopped.wait(2), "the backend's stream was told to stop"
    assert guarded.slots.busy == 0


def test_one_budget_bounds_every_call_of_a_turn() -> None:
    guarded = _guard(DrippingModel(every_s=0.3))
    start = time.monotonic()
    with model_budget(0.8):
        with pytest.raises(ModelTimeout):
            list(guarded.stream("first", GenerationParams(timeout_s=30)))
        with pytest.raises(ModelTimeout):
            guarded.complete("second", GenerationParams(timeout_s=30))
    assert time.monotonic() - start < 1.2


def test_a_failing_model_opens_the_breaker_and_is_not_called_again() -> None:
    model = BrokenModel()
    guarded = _guard(model)
    for _ in range(2):
        with pytest.raises(ModelUnavailable, match="ValueError"):
            guarded.complete("q", GenerationParams())
    assert guarded.breaker.state == "open"
    calls = len(model.prompts)
    start = time.monotonic()
    with pytest.raises(ModelUnavailable, match="failed repeatedly"):
        guarded.complete("q", GenerationParams())
    assert time.monotonic() - start < 0.05
    assert len(model.prompts) == calls  # not called at all


def test_the_breaker_lets_one_trial_through_after_the_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=1, cooldown_s=10, clock=lambda: now[0])
    breaker.failure()
    assert not breaker.allow()
    now[0] = 10.5
    assert breaker.allow() and not breaker.allow()  # one trial only
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()


def test_a_full_queue_answers_at_once() -> None:
    release = threading.Event()

    class Held(ScriptedChatModel):
        def complete(self, prompt: str, params: GenerationParams) -> Completion:
            release.wait(5)
            return Completion("done")

    guarded = _guard(Held(), slots=1, queue=0, wait_s=5)
    holder = threading.Thread(target=guarded.complete, args=("a", GenerationParams()))
    holder.start()
    time.sleep(0.1)
    start = time.monotonic()
    with pytest.raises(ModelBusy):
        guarded.complete("b", GenerationParams())
    assert time.monotonic() - start < 0.05
    release.set()
    holder.join(5)
    assert guarded.complete("c", GenerationParams()).text == "done"
    assert guarded.breaker.state == "closed"  # busy is not a model failure


def test_cancellation_stops_a_stream_between_tokens() -> None:
    cancelled = threading.Event()
    guarded = _guard(DrippingModel(every_s=0.1))
    got: list[str] = []
    with model_budget(10, cancelled=cancelled.is_set):
        with pytest.raises(ModelCancelled):
            for piece in guarded.stream("q", GenerationParams(timeout_s=10)):
                got.append(piece)
                cancelled.set()
    assert len(got) == 1
    assert guarded.breaker.state == "closed"


def test_a_turn_waiting_for_the_model_is_idle_meanwhile() -> None:
    """``idle`` is entered while the caller only waits (for a slot or a token) and left
    before it gets the next token: another turn can compute meanwhile."""
    guarded = _guard(DrippingModel(every_s=0.2))
    waiting: list[bool] = []
    idle_now = threading.local()

    class Idle:
        def __enter__(self) -> None:
            idle_now.on = True
            waiting.append(True)

        def __exit__(self, *exc: object) -> None:
            idle_now.on = False

    got: list[bool] = []
    with model_budget(0.7, idle=Idle), pytest.raises(ModelTimeout):
        for _ in guarded.stream("q", GenerationParams(timeout_s=10)):
            got.append(getattr(idle_now, "on", False))
    assert got and not any(got)  # every token is handled outside the idle block
    assert len(waiting) >= len(got) + 1  # one wait per token, plus the one that ran out
