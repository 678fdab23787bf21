"""The HTTP runner against the real app (TestClient, fake models): same suite, same metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient

from evals.http_target import HttpTarget
from evals.runner import RunConfig, run_suite
from evals.suite import Case, Expect, Suite


def test_a_suite_runs_over_http(client: TestClient) -> None:
    target = HttpTarget("http://testserver", client=client)
    suite = Suite(
        name="http",
        cases=[
            Case(id="kb", turns=["How long do I have to return an item?"], expect=Expect(articles=["returns-policy"])),
            Case(
                id="human",
                customer_id="cus_003",
                turns=["I want to speak to a real person"],
                expect=Expect(handoff=True, reason="explicit_request"),
            ),
            Case(id="copilot", turns=["return?"], expect=Expect(suggest_articles=["returns-policy"])),
        ],
    )
    report = run_suite(suite, target, RunConfig(workers=1, progress=False))
    by_id = {c.id: c for c in report.cases}
    assert by_id["human"].status == "pass" and by_id["human"].handoff_reason == "explicit_request"
    assert by_id["kb"].status != "error" and by_id["kb"].turns[0].reply
    assert "retrieval.recall@4" in report.metrics
    assert by_id["copilot"].status == "error" and "in-process" in (by_id["copilot"].error or "")
    assert report.pipeline["kb_version"]
