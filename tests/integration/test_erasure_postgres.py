"""Erasure leaves no personal data of the erased customer on PostgreSQL: the scenario of
tests/trust/test_erasure_scan.py (a realistic history, then a scan of every table and
column, JSON detail included) on a throw-away database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.models.fake import HashingEmbedder, ScriptedChatModel
from server.container import Services
from server.demo import load_demo
from tests.conftest import OPEN_HOURS, make_settings, quote_first_source
from tests.integration.conftest import temporary_database
from tests.trust.test_erasure_scan import scenario_erasure_leaves_no_personal_data

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


def test_erasure_leaves_no_personal_data_of_the_customer(pg_services: Services) -> None:
    scenario_erasure_leaves_no_personal_data(pg_services)
