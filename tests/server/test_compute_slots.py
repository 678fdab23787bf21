"""At most n bot turns compute at once; a turn that only waits for the model frees its slot."""

from __future__ import annotations

import threading
import time

from server.turns import ComputeSlots


def _run(slots: ComputeSlots, work: float, wait: float, peak: list[int], now: list[int], lock: threading.Lock) -> None:
    with slots.hold():
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        time.sleep(work)
        with lock:
            now[0] -= 1
        with slots.idle():  # waiting for the model
            time.sleep(wait)
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        with lock:
            now[0] -= 1


def test_no_more_than_n_turns_compute_at_once() -> None:
    slots, peak, now, lock = ComputeSlots(2), [0], [0], threading.Lock()
    threads = [threading.Thread(target=_run, args=(slots, 0.05, 0.0, peak, now, lock)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak[0] == 2


def test_turns_waiting_for_the_model_do_not_hold_the_others() -> None:
    """One slot, four turns that each wait 0.5 s for the model: they wait side by side
    (about 0.5 s in all), not one after the other (2 s)."""
    slots, peak, now, lock = ComputeSlots(1), [0], [0], threading.Lock()
    threads = [threading.Thread(target=_run, args=(slots, 0.01, 0.5, peak, now, lock)) for _ in range(4)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert time.perf_counter() - start < 1.2
    assert peak[0] == 1


def test_holding_twice_on_one_thread_takes_one_slot_and_idle_without_a_slot_is_harmless() -> None:
    slots = ComputeSlots(1)
    with slots.idle():  # the sweeper's or a test's turn holds no slot
        pass
    got = threading.Event()

    def other() -> None:
        with slots.hold():
            got.set()

    with slots.hold(), slots.hold():
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(0.2)
        assert not got.is_set()  # the only slot is taken
    thread.join(2)
    assert got.is_set()
