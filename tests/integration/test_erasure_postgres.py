"""Erasure leaves no personal data of the erased customer on PostgreSQL: the scenario of
tests/trust/test_erasure_scan.py (a realistic history, then a scan of every table and
column, JSON detail included) on a throw-away database."""

from __future__ import annotations

import pytest

from core.db.store import Store
from server.container import Services
from tests.integration.conftest import temporary_database
from tests.trust.test_erasure_exact_ids import scenario_ids_matched_exactly
from tests.trust.test_erasure_scan import scenario_erasure_leaves_no_personal_data

pytestmark = pytest.mark.integration


def test_erasure_leaves_no_personal_data_of_the_customer(pg_demo_services: Services) -> None:
    scenario_erasure_leaves_no_personal_data(pg_demo_services)


def test_erasure_matches_ids_exactly() -> None:
    with temporary_database() as url:
        store = Store(url)
        try:
            store.create_all()
            scenario_ids_matched_exactly(store)
        finally:
            store.engine.dispose()
