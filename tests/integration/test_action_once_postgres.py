"""A write runs once per idempotency key when two yeses arrive at once, on PostgreSQL: the
scenarios of tests/bot/test_action_once.py, each on a throw-away database of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.models.fake import HashingEmbedder, ScriptedChatModel
from server.container import Services
from server.demo import load_demo
from tests.bot.test_action_once import (
    scenario_a_claim_past_its_deadline_is_taken_over,
    scenario_a_database_from_before_the_ledger_index_is_upgraded,
    scenario_a_failed_call_releases_its_key,
    scenario_two_yes_posts_cancel_once,
    scenario_two_yeses_call_a_remote_backend_once,
    scenario_two_yeses_credit_a_builtin_write_once,
)
from tests.conftest import OPEN_HOURS, make_settings, quote_first_source
from tests.integration.conftest import temporary_database

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_services(tmp_path: Path) -> Iterator[Services]:
    with temporary_database() as url:
        svc = Services(
            make_settings(tmp_path, database_url=url),
            chat_override=ScriptedChatModel(quote_first_source),
            embedder_override=HashingEmbedder(),
            clock_override=lambda: OPEN_HOURS,
        )
        assert svc.store.dialect == "postgresql"
        load_demo(svc)
        yield svc
        svc.close()


def test_two_yeses_at_once_credit_a_builtin_write_once(pg_services: Services) -> None:
    scenario_two_yeses_credit_a_builtin_write_once(pg_services.store)


def test_two_yeses_at_once_call_a_remote_backend_once(pg_services: Services) -> None:
    scenario_two_yeses_call_a_remote_backend_once(pg_services.store)


def test_two_yes_posts_at_once_cancel_an_order_once(pg_services: Services) -> None:
    scenario_two_yes_posts_cancel_once(pg_services)


def test_a_failed_call_releases_its_key(pg_services: Services) -> None:
    scenario_a_failed_call_releases_its_key(pg_services.store)


def test_a_claim_past_its_deadline_is_taken_over(pg_services: Services) -> None:
    scenario_a_claim_past_its_deadline_is_taken_over(pg_services.store)


def test_a_database_from_before_the_ledger_index_is_upgraded(
    pg_services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    scenario_a_database_from_before_the_ledger_index_is_upgraded(pg_services.store, caplog)
