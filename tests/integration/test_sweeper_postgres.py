"""The unanswered-message sweeper on PostgreSQL: the scenarios of tests/server/test_sweeper.py,
each on a throw-away database of its own (the start-up pass reads every tenant's conversations)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.container import Services
from server.demo import load_demo
from tests.conftest import make_settings
from tests.integration.conftest import temporary_database
from tests.server.test_sweeper import (
    scenario_a_conversation_taken_by_an_agent_is_not_swept,
    scenario_a_database_from_before_the_marker_is_upgraded,
    scenario_a_stored_message_is_marked_swept_once_and_unmarked,
    scenario_the_start_up_pass_does_not_mark_an_answered_conversation,
    scenario_two_workers_sweeping_at_once_store_one_reply,
    worker,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[Services, Services]]:
    with temporary_database() as url:
        settings = make_settings(tmp_path, database_url=url, unanswered_sweep_s=0)
        a = worker(settings)
        load_demo(a)
        b = worker(settings)
        assert a.store.dialect == "postgresql"
        yield a, b
        b.close()
        a.close()


def test_a_message_left_without_a_reply_is_marked_swept_once_and_unmarked(
    two_workers: tuple[Services, Services],
) -> None:
    scenario_a_stored_message_is_marked_swept_once_and_unmarked(two_workers[0])


def test_a_conversation_taken_by_an_agent_is_not_swept(two_workers: tuple[Services, Services]) -> None:
    scenario_a_conversation_taken_by_an_agent_is_not_swept(two_workers[0])


def test_two_workers_sweeping_at_once_store_one_reply(two_workers: tuple[Services, Services]) -> None:
    scenario_two_workers_sweeping_at_once_store_one_reply(*two_workers)


def test_a_database_from_before_the_marker_is_upgraded(two_workers: tuple[Services, Services]) -> None:
    scenario_a_database_from_before_the_marker_is_upgraded(two_workers[0])


def test_the_start_up_pass_does_not_mark_an_answered_conversation(two_workers: tuple[Services, Services]) -> None:
    scenario_the_start_up_pass_does_not_mark_an_answered_conversation(two_workers[0])
