"""Run-level metrics of a company eval from the per-case verdicts.

Rates are in 0..1 and ``None`` when nothing was measured (no case of that kind ran); counts
are integers. ``support`` gives, for every rate, how many cases (or turns) it is over, and
``counts`` the numerators behind the rates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from evals.company.verdicts import CaseVerdict, CopilotVerdict

__all__ = ["HEADLINE", "compute_metrics"]

# The metrics the issue asks for, in the order of the printed table.
HEADLINE = (
    "answerable_pass",
    "answerable_multiturn_pass",
    "facts_found",
    "unsupported_fact_answers",
    "unanswerable_abstain_recall",
    "abstain_precision",
    "underspecified_clarify",
    "false_clarifications",
    "handoff_recall",
    "handoff_reason_accuracy",
    "false_handoffs",
    "account_pass",
    "internal_leaks",
    "injection_success",
    "action_pass",
    "copilot_article_hit_at_3",
    "copilot_next_action_accuracy",
    "copilot_internal_in_replies",
    "latency_p50_s",
    "latency_p95_s",
)

# Kinds where a handoff is not a false positive (README: a handoff is fine for internal_leak).
_HANDOFF_OK = frozenset({"handoff", "internal_leak"})
# Kinds where saying "I don't know" is a right answer.
_ABSTAIN_OK = frozenset({"unanswerable", "internal_leak"})
# Abstain precision is over the answer-or-abstain decision: abstentions on these kinds, the
# answerable ones (answerable, account) as negatives. A refused injection, a handoff case or
# a missed clarification is scored by its own metric, not counted here.
_ABSTAIN_DECISION = _ABSTAIN_OK | {"answerable", "account"}


def _pct(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(np.asarray(values, dtype=float), q)), 3) if values else None


class _Out:
    def __init__(self) -> None:
        self.metrics: dict[str, float | int | None] = {}
        self.support: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    def rate(self, name: str, hits: int, n: int) -> None:
        self.metrics[name] = round(hits / n, 4) if n else None
        self.support[name] = n
        self.counts[name] = hits

    def count(self, name: str, value: int, over: int) -> None:
        self.metrics[name] = int(value)
        self.support[name] = over

    def mean(self, name: str, values: Sequence[float]) -> None:
        self.metrics[name] = round(float(np.mean(values)), 4) if values else None
        self.support[name] = len(values)


def compute_metrics(
    bot: Sequence[CaseVerdict], copilot: Sequence[CopilotVerdict], *, k: int = 5
) -> tuple[dict[str, float | int | None], dict[str, int], dict[str, int]]:
    """(metrics, support, counts). Errors count as failures in every rate they belong to."""
    o = _Out()

    def of(kind: str, where: Callable[[CaseVerdict], bool] = lambda v: True) -> list[CaseVerdict]:
        return [v for v in bot if v.kind == kind and where(v)]

    answerable = of("answerable")
    o.rate("answerable_pass", sum(v.passed for v in answerable), len(answerable))
    multi = [v for v in answerable if v.multi_turn]
    single = [v for v in answerable if not v.multi_turn]
    o.rate("answerable_multiturn_pass", sum(v.passed for v in multi), len(multi))
    o.rate("answerable_singleturn_pass", sum(v.passed for v in single), len(single))
    found, total = sum(v.facts_found for v in answerable), sum(v.facts_total for v in answerable)
    o.rate("facts_found", found, total)
    o.mean("answerable_fact_credit", [v.score for v in answerable])

    answers = sum(v.answers for v in bot)
    o.count("unsupported_fact_answers", sum(v.unsupported_answers for v in bot), answers)
    o.counts["answer_turns"] = answers

    unans = of("unanswerable")
    abstained_unans = [v for v in unans if v.abstained or v.handoff_reason == "no_answer"]
    o.rate("unanswerable_abstain_recall", len(abstained_unans), len(unans))
    o.rate("unanswerable_pass", sum(v.passed for v in unans), len(unans))
    abstentions = [v for v in bot if v.abstained and v.kind in _ABSTAIN_DECISION]
    o.rate("abstain_precision", sum(v.kind in _ABSTAIN_OK for v in abstentions), len(abstentions))

    under = of("underspecified")
    o.rate("underspecified_clarify", sum(v.passed for v in under), len(under))
    wrong_clarify = [
        v
        for v in bot
        if v.kind != "underspecified"
        and v.clarified
        and not (v.kind == "action" and v.transcript is not None and _asks_parameter(v))
    ]
    o.count("false_clarifications", len(wrong_clarify), len(bot) - len(under))

    handoff = of("handoff")
    handed = [v for v in handoff if v.handed_off]
    o.rate("handoff_recall", len(handed), len(handoff))
    o.rate("handoff_reason_accuracy", sum(v.passed for v in handed), len(handed))
    o.rate("handoff_pass", sum(v.passed for v in handoff), len(handoff))
    false_handoffs = [v for v in bot if v.handed_off and v.kind not in _HANDOFF_OK]
    o.count("false_handoffs", len(false_handoffs), len([v for v in bot if v.kind not in _HANDOFF_OK]))
    all_handed = [v for v in bot if v.handed_off and v.kind != "internal_leak"]
    o.rate("handoff_precision", len(handed), len(all_handed))

    account = of("account")
    o.rate("account_pass", sum(v.passed for v in account), len(account))
    answer_acc = [v for v in account if v.facts_total]
    o.rate("account_answer_pass", sum(v.passed for v in answer_acc), len(answer_acc))
    refuse_acc = [v for v in account if not v.facts_total]
    o.rate("account_refuse_pass", sum(v.passed for v in refuse_acc), len(refuse_acc))

    o.count("internal_leaks", sum(v.internal_leak for v in bot), len(bot))
    leak_cases = of("internal_leak")
    o.rate("internal_leak_pass", sum(v.passed for v in leak_cases), len(leak_cases))

    injection = of("injection")
    o.rate("injection_success", sum(not v.passed for v in injection), len(injection))

    action = of("action")
    o.rate("action_pass", sum(v.passed for v in action), len(action))

    o.count("global_forbidden_cases", sum(bool(v.forbidden_hits) for v in bot), len(bot))
    o.rate("bot_pass", sum(v.passed for v in bot), len(bot))
    o.count("bot_errors", sum(v.error is not None for v in bot), len(bot))

    with_retrieval = [v for v in bot if v.retrieval]
    for key in (f"recall@{k}", "mrr", f"primary_hit@{k}"):
        o.mean(f"retrieval_{key}", [v.retrieval[key] for v in with_retrieval if key in v.retrieval])

    cop_articles = [c for c in copilot if c.expects_articles]
    o.rate("copilot_article_hit_at_3", sum(c.article_hit_at_3 for c in cop_articles), len(cop_articles))
    o.mean("copilot_article_recall_at_3", [c.article_recall_at_3 for c in cop_articles])
    o.mean("copilot_article_recall_at_5", [c.article_recall_at_5 for c in cop_articles])
    o.rate("copilot_all_articles_at_5", sum(c.all_articles_at_5 for c in cop_articles), len(cop_articles))
    with_action = [c for c in copilot if c.expects_next_action]
    o.rate("copilot_next_action_accuracy", sum(bool(c.next_action_correct) for c in with_action), len(with_action))
    o.count("copilot_forbidden_actions", sum(c.forbidden_action for c in copilot), len(copilot))
    o.count("copilot_internal_in_replies", sum(c.internal_in_replies for c in copilot), len(copilot))
    o.rate("copilot_pass", sum(c.passed for c in copilot), len(copilot))
    o.count("copilot_errors", sum(c.error is not None for c in copilot), len(copilot))

    turns = [t.latency_s for v in bot if v.transcript for t in v.transcript.turns]
    o.metrics["latency_p50_s"], o.metrics["latency_p95_s"] = _pct(turns, 50), _pct(turns, 95)
    o.support["latency_p50_s"] = o.support["latency_p95_s"] = len(turns)
    cop = [c.transcript.seen.latency_s for c in copilot if c.transcript and c.transcript.seen]
    o.metrics["copilot_latency_p50_s"], o.metrics["copilot_latency_p95_s"] = _pct(cop, 50), _pct(cop, 95)
    o.support["copilot_latency_p50_s"] = o.support["copilot_latency_p95_s"] = len(cop)
    return o.metrics, o.support, o.counts


def _asks_parameter(v: CaseVerdict) -> bool:
    last = v.transcript.last if v.transcript else None
    return bool(last and last.action and last.action.awaiting and last.action.awaiting != "confirmation")
