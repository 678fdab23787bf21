"""The seeded week on PostgreSQL gives the hand-computed measures too (JSON paths, timestamps
and the tenant filter differ by dialect)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analytics.sim import seeded_services
from tests.analytics.test_measures import WEEK, analytics_for
from tests.conftest import TENANT
from tests.integration.conftest import temporary_database

pytestmark = pytest.mark.integration


def test_the_week_on_postgresql(tmp_path: Path) -> None:
    with temporary_database() as url:
        seeded = seeded_services(tmp_path, database_url=url)
        try:
            analytics = analytics_for(seeded)
            report = analytics.metrics(TENANT, WEEK)
            s = report.summary
            assert (s.conversations, s.empty, s.in_progress, s.settled) == (17, 1, 1, 16)
            assert (s.bot_resolution.numerator, s.confirmed_resolution.numerator, s.reopened) == (6, 2, 1)
            assert (s.handoff.numerator, s.after_hours_tickets) == (6, 1)
            assert (s.fcr.numerator, s.fcr.denominator) == (13, 15)
            assert (s.csat_score.numerator, s.csat_score.denominator, s.csat_response.denominator) == (3, 5, 11)
            assert (s.first_response_median_s, s.aht_mean_s, s.claim_wait_median_s) == (240, 480, 180)
            assert (s.repeats, s.clarifications, s.copilot_acceptance.numerator) == (1, 1, 3)
            assert [c.questions for c in analytics.gap_report(TENANT, WEEK).clusters] == [3, 2]
            ids = {r.id for r in analytics.conversations(TENANT, WEEK, "bot_resolved").data}
            assert ids == {seeded.ids[n] for n in ("C1", "C2", "C3", "C11", "C12", "C18")}
        finally:
            seeded.services.close()
