"""The load benchmark's request routing: the load balancer policies it models."""

from __future__ import annotations

import pytest

from bench.load import Router


def test_least_connections_picks_the_idlest_worker_and_takes_ties_in_turn() -> None:
    router = Router(["a", "b", "c"])
    assert [router.pick(0, j) for j in range(3)] == [0, 1, 2]  # all idle: in turn
    router.in_flight[:] = [2, 0, 1]
    assert router.pick(0, 0) == 1
    router.in_flight[:] = [1, 1, 1]
    assert [router.pick(0, j) for j in range(3)] == [1, 2, 0]  # the turn goes on from where it was


def test_round_robin_counts_every_request_and_alternate_follows_the_conversation() -> None:
    rr = Router(["a", "b"], "round-robin")
    rr.in_flight[:] = [5, 0]
    assert [rr.pick(i, 0) for i in range(4)] == [0, 1, 0, 1]  # load is not looked at
    alt = Router(["a", "b"], "alternate")
    assert [alt.pick(3, j) for j in range(4)] == [1, 0, 1, 0]
    assert [alt.pick(4, j) for j in range(2)] == [0, 1]


def test_one_worker_gets_everything_and_an_unknown_policy_is_refused() -> None:
    one = Router(["a"], "least-connections")
    assert {one.pick(i, j) for i in range(3) for j in range(3)} == {0}
    with pytest.raises(ValueError, match="routing must be one of"):
        Router(["a"], "random")
