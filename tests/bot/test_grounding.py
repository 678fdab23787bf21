"""The grounding check rejects drafts that sound right but state what the sources do not."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.answer import AnswerConfig, GroundedAnswerer
from bot.compose import ComposeSettings
from bot.grounding import GroundingChecker
from core.models.fake import HashingEmbedder, ScriptedChatModel
from core.types import Passage
from prompts.loader import PromptLoader

SHIPPING = Passage(
    chunk_id="c1",
    article_id="shipping-options-and-costs",
    version=1,
    title="Shipping options and costs",
    url="https://help.example/articles/shipping",
    text="Express shipping costs 9.90 EUR on every order. Standard shipping is free on orders over 50 EUR.",
)


def test_a_faithful_sentence_is_supported() -> None:
    checker = GroundingChecker(HashingEmbedder())
    result = checker.check("Express shipping costs 9.90 EUR on every order. [1]", [SHIPPING])
    assert result.passes(0.55), result


def test_an_invented_number_fails_however_close_the_wording() -> None:
    # The bundled base model once wrote exactly this: every word but the price is in the source.
    result = GroundingChecker(HashingEmbedder()).check(
        "Express shipping costs 10.90 EUR for orders over 50 EUR. [1]", [SHIPPING]
    )
    assert result.score == 0.0
    assert not result.passes(0.01)


def test_numbers_only_count_in_the_cited_passage() -> None:
    other = SHIPPING.model_copy(update={"chunk_id": "c2", "text": "Returns are free within 30 days."})
    # 30 appears in passage 2, but the sentence cites passage 1.
    checker = GroundingChecker(HashingEmbedder())
    result = checker.check("Express shipping is free within 30 days. [1]", [SHIPPING, other])
    assert result.score == 0.0


def _answerer(draft: str) -> GroundedAnswerer:
    # The hashing embedder scores lower than MiniLM: let source sentences qualify sooner.
    config = AnswerConfig(extractive_min_similarity=0.1)
    return GroundedAnswerer(ScriptedChatModel(lambda prompt: draft), HashingEmbedder(), PromptLoader(), config)


def test_a_draft_that_answers_with_the_figure_is_kept() -> None:
    answer = _answerer("Express shipping costs 9.90 EUR on every order. [1]").answer(
        "How much does express shipping cost?", [SHIPPING]
    )
    assert answer.mode == "generated" and "9.90" in answer.text


def test_a_question_for_a_figure_is_not_answered_without_one() -> None:
    # Grounded and on topic, but it does not say what it costs: the source sentence does.
    answer = _answerer("Express shipping is available on every order. [1]").answer(
        "How much does express shipping cost?", [SHIPPING]
    )
    assert answer.mode == "extractive" and "9.90" in answer.text
    # A question that asks for no figure keeps such a draft.
    kept = _answerer("Express shipping is available on every order. [1]").answer(
        "Is express shipping available on every order?", [SHIPPING]
    )
    assert kept.mode == "generated"


def test_the_filtered_reply_fallback_composes_with_the_tenants_settings() -> None:
    """``extractive`` (the fallback when the output filter blocks a reply) composes with the
    tenant's today, currency and locale that the reply was composed with, not the machine's."""
    answerer = _answerer("Express shipping costs 9.90 EUR on every order. [1]")
    settings = ComposeSettings(today=date(2020, 2, 28), currency="EUR", locale="fr")
    answer = answerer.answer("How much does express shipping cost?", [SHIPPING], settings=settings)
    assert answer.settings is settings
    seen: list[ComposeSettings] = []
    select = answerer.composer.select

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["settings"])
        return select(*args, **kwargs)

    answerer.composer.select = spy  # type: ignore[method-assign]
    fallback = answerer.extractive("How much does express shipping cost?", [SHIPPING], answer.settings)
    assert seen == [settings] and fallback.settings is settings and "9.90" in fallback.text
