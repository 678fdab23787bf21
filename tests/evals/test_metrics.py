"""Metric arithmetic, checked against values worked out by hand (or, for BLEU, sacrebleu's)."""

from __future__ import annotations

import asyncio
import math

import pytest

from evals.metrics import retrieval, text
from evals.metrics.aggregate import aggregate
from evals.report import CaseResult
from evals.suite import Expect
from evals.target import HandoffObs, TurnObs


def test_ranking_metrics_count_each_article_once() -> None:
    ranked = ["a", "a", "b", "c", "d"]  # two chunks of "a" count once
    assert retrieval.recall_at_k(ranked, ["b", "x"], 2) == 0.5
    assert retrieval.reciprocal_rank(ranked, ["c"]) == pytest.approx(1 / 3)
    assert retrieval.reciprocal_rank(ranked, ["x"]) == 0.0
    assert retrieval.ndcg_at_k(ranked, ["b"], 3) == pytest.approx(1 / math.log2(3))
    assert retrieval.ndcg_at_k(["b", "a"], ["a", "b"], 2) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        retrieval.recall_at_k(ranked, [], 3)


def test_string_metrics() -> None:
    assert text.bleu("returns are free within 30 days", "returns are free within 30 days") == pytest.approx(1.0)
    assert text.bleu("nothing alike here", "returns are free within 30 days") == 0.0
    assert text.bleu("the cat sat on the mat", "the cat is on the mat") == pytest.approx(0.37992, abs=1e-5)  # sacrebleu
    # ROUGE-L: LCS "returns ... 30 days" = 3 tokens, P = 3/5, R = 3/6
    assert text.rouge_l("free returns in 30 days", "returns are free within 30 days") == pytest.approx(
        2 * (3 / 5) * (3 / 6) / (3 / 5 + 3 / 6)
    )
    # ragas stems (Porter): "returned" ~ "return"; LCS "can return items within 30 days" = 5 of 7 and 7
    assert text.rouge_l("Items can be returned within 30 days", "You can return items within 30 days") == pytest.approx(
        5 / 7
    )
    assert text.string_similarity("abc", "abd") == pytest.approx(2 / 3)
    assert text.string_similarity("kitten", "sitting") == pytest.approx(1 - 3 / 7)  # Levenshtein 3 over 7
    assert text.token_f1("a b", "a c") == pytest.approx(0.5)


def test_string_metrics_are_ragas_own() -> None:
    from ragas.metrics.collections import NonLLMStringSimilarity, RougeScore

    candidate, reference = "Most items can be returned within 30 days.", "You can return most items within 30 days."
    assert (
        text.rouge_l(candidate, reference)
        == asyncio.run(RougeScore().ascore(reference=reference, response=candidate)).value
    )
    assert (
        text.string_similarity(candidate, reference)
        == asyncio.run(NonLLMStringSimilarity().ascore(reference=reference, response=candidate)).value
    )


def test_bleu_scores_the_whole_answer_not_only_its_first_sentence() -> None:
    # ragas 0.4.3 BleuScore gives 1.0 here (only the first sentence is compared, ragas#2888)
    reference = "The cat sat on the mat. It was a sunny day."
    assert text.bleu("The cat sat on the mat. Dogs barked.", reference) == pytest.approx(0.48941, abs=1e-5)
    assert text.bleu(reference, reference) == pytest.approx(1.0)


def test_context_precision_and_recall_match_contexts_by_similarity() -> None:
    ref = ["Returns are free within 30 days of delivery."]
    got = ["Shipping costs 4.90 EUR.", "Returns are free within 30 days of delivery!"]
    assert text.context_precision(got, ref) == pytest.approx(0.5)  # relevant at rank 2: precision@2 = 1/2
    assert text.context_precision(got[::-1], ref) == pytest.approx(1.0)  # relevant at rank 1
    assert text.context_recall(got, ref) == 1.0
    assert text.context_recall(["Shipping costs 4.90 EUR."], ref) == 0.0
    assert text.context_precision([], ref) == 0.0 and text.context_recall(got, []) == 0.0


def _case(cid: str, expect: Expect, handoff: str | None = None, kind: str = "answer") -> CaseResult:
    turn = TurnObs(
        customer="q",
        reply="r",
        kind="handoff" if handoff else kind,
        handoff=HandoffObs(reason=handoff) if handoff else None,
        latency_s=1.0,
        prompt_tokens=100,
        completion_tokens=10,
    )
    return CaseResult(id=cid, kind="conversation", expect=expect, turns=[turn])


def test_handoff_precision_recall_and_reason_accuracy() -> None:
    cases = [
        _case("tp", Expect(handoff=True, reason="frustration"), handoff="frustration"),
        _case("tp-wrong-reason", Expect(handoff=True, reason="frustration"), handoff="no_answer"),
        _case("fn", Expect(handoff=True)),
        _case("fp", Expect(handoff=False), handoff="explicit_request"),
        _case("tn", Expect(handoff=False)),
    ]
    m, support = aggregate(cases)
    assert m["handoff.precision"] == pytest.approx(2 / 3, abs=1e-3)
    assert m["handoff.recall"] == pytest.approx(2 / 3, abs=1e-3)
    assert m["handoff.reason_accuracy"] == 0.5 and support["handoff.reason_accuracy"] == 2
    assert m["tokens.per_case"] == 110 and m["latency.turn_p50_s"] == 1.0


def test_abstention_precision_and_recall() -> None:
    cases = [
        _case("abstained-rightly", Expect(abstain=True), kind="abstain"),
        _case("answered-wrongly", Expect(abstain=True)),
        _case("abstained-wrongly", Expect(abstain=False), kind="abstain"),
        _case("answered-rightly", Expect(abstain=False)),
    ]
    m, _ = aggregate(cases)
    assert m["abstention.precision"] == 0.5 and m["abstention.recall"] == 0.5


def test_errors_are_counted_apart_and_do_not_count_as_failures() -> None:
    ok = _case("ok", Expect(handoff=False))
    broken = CaseResult(id="broken", kind="conversation", status="error", error="RuntimeError: boom")
    m, _ = aggregate([ok, broken])
    assert m["cases.errors"] == 1.0
    assert m["cases.pass_rate"] == 1.0  # over the cases that ran
