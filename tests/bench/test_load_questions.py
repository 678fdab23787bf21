"""Which demo questions each simulated conversation of ``bench load`` asks."""

from __future__ import annotations

from bench.load import question_order


def test_shared_questions_follow_a_few_sequences_in_step() -> None:
    orders = [tuple(question_order(i, 10, 60, unique=False)) for i in range(200)]
    assert orders[0] == tuple(range(10)) and orders[6] == orders[0]
    assert len(set(orders)) == 6


def test_unique_questions_give_every_conversation_its_own_sequence() -> None:
    orders = [tuple(question_order(i, 10, 60, unique=True)) for i in range(200)]
    assert len(set(orders)) == 200
    assert all(len(set(o)) == 10 and all(0 <= q < 60 for q in o) for o in orders)
    assert orders == [tuple(question_order(i, 10, 60, unique=True)) for i in range(200)]  # seeded
    # more messages than questions: repeats, still within range
    assert all(0 <= q < 5 for q in question_order(3, 12, 5, unique=True))
