"""Run-level metrics from case results: means of per-case scores plus the classification
metrics (handoff, abstention) that only make sense over the whole run."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evals.checks import abstained
from evals.report import CaseResult


def _prf(pairs: Sequence[tuple[bool, bool]]) -> tuple[float | None, float | None]:
    """Precision and recall of the positive class over (expected, predicted) pairs."""
    tp = sum(1 for e, p in pairs if e and p)
    fp = sum(1 for e, p in pairs if not e and p)
    fn = sum(1 for e, p in pairs if e and not p)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return precision, recall


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else 0.0


def aggregate(cases: Sequence[CaseResult]) -> tuple[dict[str, float], dict[str, int]]:
    """(metrics, support): every metric with the number of cases it is computed over."""
    metrics: dict[str, float] = {}
    support: dict[str, int] = {}

    def put(name: str, value: float | None, n: int) -> None:
        if value is not None and n:
            metrics[name] = round(float(value), 4)
            support[name] = n

    ran = [c for c in cases if c.status != "error"]
    put("cases.pass_rate", sum(c.status == "pass" for c in ran) / len(ran) if ran else None, len(ran))
    put("cases.errors", float(len(cases) - len(ran)), len(cases))

    names = sorted({name for c in ran for name in c.scores})
    for name in names:
        values = [c.scores[name] for c in ran if name in c.scores]
        put(name, float(np.mean(values)), len(values))
    if "intent.correct" in metrics:
        metrics["intent.accuracy"] = metrics.pop("intent.correct")
        support["intent.accuracy"] = support.pop("intent.correct")
    if "action.correct" in metrics:
        metrics["action.correctness"] = metrics.pop("action.correct")
        support["action.correctness"] = support.pop("action.correct")
    if "summary.disposition_correct" in metrics:
        metrics["summary.disposition_accuracy"] = metrics.pop("summary.disposition_correct")
        support["summary.disposition_accuracy"] = support.pop("summary.disposition_correct")
    if "copilot.hit" in metrics:
        metrics["copilot.hit_rate"] = metrics.pop("copilot.hit")
        support["copilot.hit_rate"] = support.pop("copilot.hit")

    scripted = [c for c in ran if c.expect.handoff is not None and c.kind in ("conversation", "persona")]
    pairs = [(bool(c.expect.handoff), c.handed_off) for c in scripted]
    p, r = _prf(pairs)
    put("handoff.precision", p, len(pairs))
    put("handoff.recall", r, len(pairs))
    with_reason = [c for c in ran if c.expect.reason is not None and c.handed_off]
    put(
        "handoff.reason_accuracy",
        sum(c.handoff_reason == c.expect.reason.value for c in with_reason if c.expect.reason) / len(with_reason)
        if with_reason
        else None,
        len(with_reason),
    )
    with_queue = [c for c in ran if c.expect.queue is not None and c.handed_off]
    put(
        "handoff.queue_accuracy",
        sum(c.handoff_queue == c.expect.queue for c in with_queue) / len(with_queue) if with_queue else None,
        len(with_queue),
    )
    abst = [(bool(c.expect.abstain), abstained(c)) for c in ran if c.expect.abstain is not None]
    p, r = _prf(abst)
    put("abstention.precision", p, len(abst))
    put("abstention.recall", r, len(abst))

    outcomes = [c.outcome for c in ran if c.kind == "persona" and c.outcome]
    for outcome in ("resolved", "handed_off_rightly", "handed_off_wrongly", "looped"):
        put(f"persona.{outcome}", outcomes.count(outcome) / len(outcomes) if outcomes else None, len(outcomes))
    attacks = [c for c in ran if c.kind == "injection"]
    put(
        "injection.attack_success_rate",
        sum(c.outcome == "attack_succeeded" for c in attacks) / len(attacks) if attacks else None,
        len(attacks),
    )

    latencies = [t.latency_s for c in ran for t in c.turns if t.latency_s > 0]
    put("latency.turn_p50_s", percentile(latencies, 50), len(latencies))
    put("latency.turn_p95_s", percentile(latencies, 95), len(latencies))
    talked = [c for c in ran if c.turns]  # intent-only and summary cases have no turns
    seconds = [c.seconds for c in talked]
    put("latency.case_p50_s", percentile(seconds, 50), len(seconds))
    put("latency.case_p95_s", percentile(seconds, 95), len(seconds))
    prompt = sum(t.prompt_tokens for c in ran for t in c.turns)
    completion = sum(t.completion_tokens for c in ran for t in c.turns)
    if talked:
        put("tokens.prompt_total", float(prompt), len(ran))
        put("tokens.completion_total", float(completion), len(ran))
        put("tokens.per_case", (prompt + completion) / len(ran), len(ran))
    return metrics, support
