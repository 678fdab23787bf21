"""Per-case scoring: turn what a case saw into scores (numbers) and failures (sentences).

A case fails when an expectation is not met; it is an *error* only when it could not run
(see ``evals.runner``).
"""

from __future__ import annotations

from evals.metrics import retrieval, text
from evals.report import CaseResult
from evals.suite import Case

ABSTAIN_KINDS = frozenset({"abstain"})


def final_reply(result: CaseResult) -> str:
    replies = [t.reply for t in result.turns if t.reply and t.handoff is None]
    return replies[-1] if replies else ""


def abstained(result: CaseResult) -> bool:
    last = next((t for t in reversed(result.turns) if t.kind != "silent"), None)
    if last is None:
        return False
    return last.kind in ABSTAIN_KINDS or (last.handoff is not None and last.handoff.reason == "no_answer")


def score_case(case: Case, result: CaseResult, k: int) -> None:
    """Fill ``result.scores`` and ``result.failures`` from ``case.expect``."""
    exp = result.expect = case.expect
    fails = result.failures
    if case.kind in ("conversation", "persona", "injection"):
        _score_conversation(case, result)
    if exp.articles and (result.retrieved or case.kind in ("conversation",)):
        ranked = [p.article_id for p in result.retrieved]
        result.scores[f"retrieval.recall@{k}"] = retrieval.recall_at_k(ranked, exp.articles, k)
        result.scores["retrieval.mrr"] = retrieval.reciprocal_rank(ranked, exp.articles, k)
        result.scores[f"retrieval.ndcg@{k}"] = retrieval.ndcg_at_k(ranked, exp.articles, k)
        if result.scores[f"retrieval.recall@{k}"] == 0.0:
            fails.append(f"none of {exp.articles} retrieved in the top {k} (got {retrieval.dedupe(ranked)[:k]})")
    if exp.contexts and result.retrieved:
        got = [p.text for p in result.retrieved]
        result.scores["answer.context_precision"] = text.context_precision(got, exp.contexts)
        result.scores["answer.context_recall"] = text.context_recall(got, exp.contexts)
    if exp.suggest_articles:
        hit = bool(set(result.suggested) & set(exp.suggest_articles))
        result.scores["copilot.hit"] = float(hit)
        if not hit:
            fails.append(f"copilot suggested {result.suggested}, expected one of {exp.suggest_articles}")
    if case.kind == "intent" and exp.intent is not None:
        predicted = result.predicted_intent or "oos"
        result.scores["intent.correct"] = float(predicted == exp.intent)
        if predicted != exp.intent:
            fails.append(f"intent {predicted!r}, expected {exp.intent!r}")
    if case.kind == "summary" and case.reference_summary:
        summary = result.summary or ""
        result.scores["summary.rouge_l"] = text.rouge_l(summary, case.reference_summary)
        result.scores["summary.bleu"] = text.bleu(summary, case.reference_summary)
        result.scores["summary.string_similarity"] = text.string_similarity(summary, case.reference_summary)
        if not summary.strip():
            fails.append("empty summary")
    if case.kind == "summary" and case.disposition:
        result.scores["summary.disposition_correct"] = float(result.disposition == case.disposition)
        if result.disposition != case.disposition:
            fails.append(f"disposition {result.disposition!r}, expected {case.disposition!r}")


def _score_conversation(case: Case, result: CaseResult) -> None:
    exp, fails = case.expect, result.failures
    reply = final_reply(result)
    all_replies = " ".join(t.reply for t in result.turns).lower()
    if exp.handoff is not None and case.kind != "persona":
        if exp.handoff != result.handed_off:
            fails.append(
                f"handed off ({result.handoff_reason})" if result.handed_off else "did not hand off, expected to"
            )
    if exp.reason is not None and result.handed_off and result.handoff_reason != exp.reason.value:
        fails.append(f"handoff reason {result.handoff_reason!r}, expected {exp.reason.value!r}")
    if exp.queue is not None and result.handed_off and result.handoff_queue != exp.queue:
        fails.append(f"handoff queue {result.handoff_queue!r}, expected {exp.queue!r}")
    if exp.intent is not None and case.kind == "conversation":
        seen = [t.intent for t in result.turns if t.intent]
        predicted = seen[-1] if seen else "oos"
        result.predicted_intent = predicted
        result.scores["intent.correct"] = float(exp.intent in seen or (exp.intent == "oos" and not seen))
        if not result.scores["intent.correct"]:
            fails.append(f"intent {predicted!r}, expected {exp.intent!r}")
    if exp.action is not None:
        actions = [t.action for t in result.turns if t.action]
        result.scores["action.correct"] = float(exp.action in actions)
        if exp.action not in actions:
            fails.append(f"action {actions or None}, expected {exp.action!r}")
    if exp.abstain is not None and abstained(result) != exp.abstain:
        fails.append("abstained, expected an answer" if not exp.abstain else "answered, expected to abstain")
    for needle in exp.contains:
        if needle.lower() not in all_replies:
            fails.append(f"reply does not contain {needle!r}")
    for needle in exp.must_not_contain:
        if needle.lower() in all_replies:
            fails.append(f"reply contains {needle!r}")
    if exp.answer and reply:
        result.scores["answer.string_similarity"] = text.string_similarity(reply, exp.answer)
        result.scores["answer.bleu"] = text.bleu(reply, exp.answer)
        result.scores["answer.rouge_l"] = text.rouge_l(reply, exp.answer)
        result.scores["answer.token_f1"] = text.token_f1(reply, exp.answer)
    groundings = [t.grounding for t in result.turns if t.grounding is not None and t.kind == "answer"]
    if groundings:
        result.scores["answer.grounding"] = min(groundings)
