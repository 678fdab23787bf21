"""A write runs once per idempotency key when two yeses arrive at once, on PostgreSQL: the
scenarios of tests/bot/test_action_once.py, each on a throw-away database of its own."""

from __future__ import annotations

import pytest

from server.container import Services
from tests.bot.test_action_once import (
    scenario_a_claim_past_its_deadline_is_taken_over,
    scenario_a_database_from_before_the_ledger_index_is_upgraded,
    scenario_a_failed_call_releases_its_key,
    scenario_two_yes_posts_cancel_once,
    scenario_two_yeses_call_a_remote_backend_once,
    scenario_two_yeses_credit_a_builtin_write_once,
)

pytestmark = pytest.mark.integration


def test_two_yeses_at_once_credit_a_builtin_write_once(pg_demo_services: Services) -> None:
    scenario_two_yeses_credit_a_builtin_write_once(pg_demo_services.store)


def test_two_yeses_at_once_call_a_remote_backend_once(pg_demo_services: Services) -> None:
    scenario_two_yeses_call_a_remote_backend_once(pg_demo_services.store)


def test_two_yes_posts_at_once_cancel_an_order_once(pg_demo_services: Services) -> None:
    scenario_two_yes_posts_cancel_once(pg_demo_services)


def test_a_failed_call_releases_its_key(pg_demo_services: Services) -> None:
    scenario_a_failed_call_releases_its_key(pg_demo_services.store)


def test_a_claim_past_its_deadline_is_taken_over(pg_demo_services: Services) -> None:
    scenario_a_claim_past_its_deadline_is_taken_over(pg_demo_services.store)


def test_a_database_from_before_the_ledger_index_is_upgraded(
    pg_demo_services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    scenario_a_database_from_before_the_ledger_index_is_upgraded(pg_demo_services.store, caplog)
