"""The runner against a scripted target: errors vs failures, thresholds, personas, reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.compare import compare, render_compare
from evals.html import render_html
from evals.report import RunReport
from evals.runner import RunConfig, run_suite
from evals.suite import Case, Expect, Persona, Suite
from tests.evals.fakes import FakeTarget, answer, handoff

CFG = RunConfig(workers=2, progress=False)


def _target() -> FakeTarget:
    return FakeTarget(
        replies={
            "return": answer("You can return items within 30 days [1].", cited=("returns-policy",)),
            "human": handoff("explicit_request", "general"),
            "angry": handoff("frustration", "orders"),
            "rent": answer("I couldn't find an answer.", kind="abstain"),
            "crash": lambda text: (_ for _ in ()).throw(RuntimeError("model fell over")),
            "": answer("Could you tell me more?", kind="clarify"),  # anything else
        },
        passages={"return": ["returns-policy", "start-a-return"], "ship": ["shipping"]},
    )


def _suite(*cases: Case, **thresholds: str) -> Suite:
    return Suite(name="unit", cases=list(cases), thresholds=thresholds)  # type: ignore[arg-type]


def test_a_case_that_raises_is_an_error_and_the_run_goes_on() -> None:
    suite = _suite(
        Case(id="ok", turns=["how do I return this?"], expect=Expect(articles=["returns-policy"], handoff=False)),
        Case(id="boom", turns=["crash please"]),
        Case(id="wrong", turns=["I want a human"], expect=Expect(handoff=False)),
    )
    report = run_suite(suite, _target(), CFG)
    by_id = {c.id: c for c in report.cases}
    assert by_id["ok"].status == "pass"
    assert by_id["boom"].status == "error" and "model fell over" in (by_id["boom"].error or "")
    assert by_id["wrong"].status == "fail" and "handed off" in by_id["wrong"].failures[0]
    assert report.counts == {"pass": 1, "fail": 1, "error": 1}
    assert [c.id for c in report.cases] == ["ok", "boom", "wrong"]  # suite order, whatever finished first


def test_thresholds_gate_the_run() -> None:
    cases = [
        Case(id="a", turns=["return?"], expect=Expect(articles=["returns-policy"])),
        Case(id="b", turns=["ship?"], expect=Expect(articles=["returns-policy"])),
    ]
    report = run_suite(_suite(*cases, **{"retrieval.recall@4": ">= 0.9"}), _target(), CFG)
    assert report.metrics["retrieval.recall@4"] == 0.5
    assert not report.gate_ok and report.thresholds[0].actual == 0.5
    report = run_suite(_suite(*cases, **{"retrieval.recall@4": ">= 0.5"}), _target(), CFG)
    assert report.gate_ok


def test_a_threshold_on_a_metric_the_run_did_not_produce_fails_the_gate() -> None:
    report = run_suite(_suite(Case(id="a", turns=["return?"]), **{"copilot.hit_rate": ">= 0.5"}), _target(), CFG)
    assert not report.gate_ok and report.thresholds[0].actual is None


def test_persona_outcomes() -> None:
    suite = _suite(
        Case(
            id="resolved",
            persona=Persona(
                style="vague", opening="hmm", follow_ups=["return stuff?"], resolved_when=["returns-policy"]
            ),
        ),
        Case(
            id="rightly",
            persona=Persona(style="wants_human", opening="human now"),
            expect=Expect(handoff=True, reason="explicit_request"),
        ),
        Case(id="wrongly", persona=Persona(style="impatient", opening="angry!!"), expect=Expect(handoff=False)),
        Case(id="looped", persona=Persona(style="vague", opening="rent a tent?", follow_ups=["rent?"], max_turns=2)),
    )
    report = run_suite(suite, _target(), CFG)
    outcomes = {c.id: c.outcome for c in report.cases}
    assert outcomes == {
        "resolved": "resolved",
        "rightly": "handed_off_rightly",
        "wrongly": "handed_off_wrongly",
        "looped": "looped",
    }
    assert report.metrics["persona.looped"] == 0.25
    assert len(next(c for c in report.cases if c.id == "looped").turns) == 2


def test_limit_keeps_the_first_cases_and_records_the_sample() -> None:
    suite = _suite(*[Case(id=f"c{i}", turns=["return?"]) for i in range(5)])
    report = run_suite(suite, _target(), RunConfig(limit=2, progress=False))
    assert [c.id for c in report.cases] == ["c0", "c1"] and report.cases_total == 5 and report.limit == 2


def test_report_records_the_pipeline_and_round_trips(tmp_path: Path) -> None:
    report = run_suite(_suite(Case(id="a", turns=["return?"])), _target(), CFG)
    assert report.pipeline["kb_version"] == "kb-fake"
    assert "answer" in report.pipeline["prompts"]  # type: ignore[operator]
    assert str(report.pipeline["answer_metrics"]).startswith("ragas 0.4")
    again = RunReport.load(report.save(tmp_path / "r.json"))
    assert again.metrics == report.metrics and again.cases[0].turns[0].reply == report.cases[0].turns[0].reply


def test_html_report_shows_failures_with_transcript_and_passages() -> None:
    suite = _suite(
        Case(id="fails", turns=["how to return <b>this</b>?"], expect=Expect(handoff=True)),
        Case(id="boom", turns=["crash"]),
    )
    html = render_html(run_suite(suite, _target(), CFG))
    assert "<svg" in html and "http" not in html.split("<body>")[0].replace("charset", "")  # no CDN in the head
    assert "fails" in html and "did not hand off" in html
    assert "&lt;b&gt;this&lt;/b&gt;" in html  # customer text escaped
    assert "returns-policy" in html  # retrieved passages
    assert "RuntimeError" in html


def test_compare_flags_regressions_and_newly_failing_cases() -> None:
    good = run_suite(_suite(Case(id="a", turns=["human"], expect=Expect(handoff=True))), _target(), CFG)
    bad_target = _target()
    bad_target.replies["human"] = answer("Sure, here is an answer.")
    bad = run_suite(_suite(Case(id="a", turns=["human"], expect=Expect(handoff=True))), bad_target, CFG)
    result = compare(good, bad)
    assert [d.metric for d in result.regressions] == ["cases.pass_rate"] or "cases.pass_rate" in [
        d.metric for d in result.regressions
    ]
    assert result.newly_failing == ["a"]
    assert "REGRESSION" in render_compare(result)
    assert not compare(good, good).regressions


@pytest.mark.parametrize(
    ("metric", "a", "b", "regressed"),
    [
        ("handoff.recall", 0.9, 0.85, True),
        ("handoff.recall", 0.9, 0.89, False),
        ("injection.attack_success_rate", 0.1, 0.2, True),
        ("latency.turn_p95_s", 2.0, 2.2, False),
        ("latency.turn_p95_s", 2.0, 3.0, True),
    ],
)
def test_direction_of_each_metric(metric: str, a: float, b: float, regressed: bool) -> None:
    from datetime import UTC, datetime

    def rep(v: float) -> RunReport:
        return RunReport(
            suite="s", target="t", started_at=datetime.now(UTC), seconds=1, seed=1, workers=1, metrics={metric: v}
        )

    assert bool(compare(rep(a), rep(b)).regressions) is regressed


def test_summary_cases_score_text_and_disposition() -> None:
    from evals.suite import Message

    suite = _suite(
        Case(
            id="s1",
            messages=[Message(role="customer", text="my lamp arrived broken"), Message(role="agent", text="replaced")],
            reference_summary="The lamp arrived broken; the agent replaced it.",
            disposition="resolved",
        )
    )
    report = run_suite(suite, _target(), CFG)
    case = report.cases[0]
    assert case.kind == "summary" and case.disposition == "follow_up"
    assert "disposition 'follow_up', expected 'resolved'" in case.failures
    assert report.metrics["summary.disposition_accuracy"] == 0.0 and report.metrics["summary.rouge_l"] > 0
