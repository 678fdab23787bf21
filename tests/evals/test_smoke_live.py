"""The demo-shop smoke suite against the real bundled models, in-process (what CI gates on)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evals.runner import RunConfig, run_suite
from evals.suite import load_suite
from server.cli.evals import ServiceTarget
from server.container import Services


@pytest.fixture
def target(real_services: Services) -> Iterator[ServiceTarget]:
    clock = real_services.bot.clock
    yield ServiceTarget(real_services)
    real_services.bot.clock = clock  # the session fixture's bot gets its real clock back


@pytest.mark.integration
def test_smoke_suite_meets_its_thresholds(target: ServiceTarget) -> None:
    suite = load_suite("smoke")
    report = run_suite(suite, target, RunConfig(workers=2, progress=False))
    missed = [f"{t.metric} {t.rule} (actual {t.actual})" for t in report.thresholds if not t.ok]
    assert not missed, missed
    assert report.counts["error"] == 0, [c.error for c in report.cases if c.error]
    assert report.pipeline["kb_version"] and report.pipeline["prompts"]
    human = next(c for c in report.cases if c.id == "smoke-human")
    assert human.handed_off and human.handoff_reason == "explicit_request"
