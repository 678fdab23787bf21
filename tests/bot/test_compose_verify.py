"""The strict draft verifier: an instruction-following model's phrasing is sent only when
every sentence is supported by the units it cites. The three wrong drafts of issue 12
(each passed the old word-overlap check) are rejected; faithful phrasings are kept."""

from __future__ import annotations

from datetime import date

import pytest

from bot.answer import AnswerConfig, GroundedAnswerer
from bot.compose import ComposeSettings, verify
from core.models.fake import HashingEmbedder, ScriptedChatModel
from core.types import Passage
from prompts.loader import PromptLoader

RETURNS = (
    "You have 30 days from the day your parcel was delivered. The delivery date is shown in your account. "
    "Once you have created a return, the prepaid label is valid for 14 days. Please drop the parcel off within "
    "that time, even if your 30-day window ends later."
)
REFUNDS = (
    "We refund within 5–7 business days after the return arrives at our warehouse. "
    "The money goes back to the original payment method."
)
SWITCHING = (
    "If you switch to another provider, you can keep your smart thermostat. "
    "Your new provider takes over the service from your switch date."
)


@pytest.mark.parametrize(
    ("draft", "source", "question", "why"),
    [
        (
            "The refund will take 30 days to show up. [1]",
            REFUNDS,
            "How long until my refund shows up?",
            "is in no cited source",
        ),
        (
            "You must replace your smart thermostat when you switch. [1]",
            SWITCHING,
            "Can I keep my smart thermostat if I switch provider?",
            "'must' where the source says 'can'",
        ),
        (
            "You cannot keep your smart thermostat when you switch. [1]",
            SWITCHING,
            "Can I keep my smart thermostat if I switch provider?",
            "negation differs",
        ),
        (
            "The return label is valid for 14 days after the delivery date. [1]",
            RETURNS,
            "How long do I have to return an item?",
            "counted from something else",
        ),
    ],
)
def test_the_wrong_drafts_are_rejected(draft: str, source: str, question: str, why: str) -> None:
    verdict = verify(draft, {1: source}, question)
    assert not verdict.ok
    assert any(why in r for r in verdict.reasons), verdict.reasons


@pytest.mark.parametrize(
    ("draft", "source", "question"),
    [
        ("You have 30 days from delivery to return an item. [1]", RETURNS, "How long do I have to return an item?"),
        ("Once you create a return, the label is valid for 14 days. [1]", RETURNS, "How long is the label valid?"),
        ("Yes, you can keep your smart thermostat when you switch. [1]", SWITCHING, "Can I keep my thermostat?"),
        ("We refund within 5–7 business days after your return arrives. [1] Happy to help!", REFUNDS, "Refund?"),
    ],
)
def test_faithful_phrasings_pass(draft: str, source: str, question: str) -> None:
    verdict = verify(draft, {1: source}, question)
    assert verdict.ok, verdict.reasons


def test_an_uncited_sentence_or_an_unknown_source_fails() -> None:
    assert not verify("You have 30 days to return it.", {1: RETURNS}).ok
    assert not verify("You have 30 days to return it. [2]", {1: RETURNS}).ok


def test_two_working_days_written_in_words_is_the_same_figure() -> None:
    source = "We reissue the bill within 2 working days."
    assert verify("We reissue the bill within two working days. [1]", {1: source}).ok
    assert not verify("We reissue the bill within 2 days. [1]", {1: source}).ok  # "working" dropped


PASSAGE = Passage(
    chunk_id="returns::v1::0",
    article_id="returns",
    version=1,
    title="Returns policy",
    url="https://help.example/returns",
    section="How long do I have to return an item?",
    text=RETURNS,
)


def _answer(draft: str) -> tuple[object, ScriptedChatModel, list[str]]:
    chat = ScriptedChatModel([draft])
    answerer = GroundedAnswerer(chat, HashingEmbedder(), PromptLoader(), AnswerConfig(answer_threshold=0.0))
    streamed: list[str] = []
    answer = answerer.answer(
        "How long do I have to return an item?",
        [PASSAGE],
        on_token=streamed.append,
        settings=ComposeSettings(today=date(2026, 3, 10)),
    )
    return answer, chat, streamed


def test_a_wrong_draft_of_an_instruction_model_is_replaced_by_the_composed_answer() -> None:
    answer, chat, _ = _answer("The return label is valid for 14 days after the delivery date. [1]")
    assert chat.prompts, "an instruction-following model is asked to phrase the units"
    assert answer.mode == "extractive"  # type: ignore[attr-defined]
    assert "30 days from the day your parcel was delivered" in answer.text  # type: ignore[attr-defined]
    assert "after the delivery date" not in answer.text  # type: ignore[attr-defined]
    assert answer.rejected  # type: ignore[attr-defined]


def test_a_supported_draft_is_sent_and_streamed() -> None:
    answer, chat, streamed = _answer("You have 30 days from delivery to return an item. [1]")
    assert answer.mode == "generated"  # type: ignore[attr-defined]
    assert answer.text == "You have 30 days from delivery to return an item. [1]"  # type: ignore[attr-defined]
    assert "".join(streamed).strip() == answer.text  # type: ignore[attr-defined]
    prompt = chat.prompts[0]
    assert "30 days from the day your parcel was delivered" in prompt and "Question: How long" in prompt
