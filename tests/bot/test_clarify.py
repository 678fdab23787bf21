"""Clarifying questions come from how the content splits, never from the customer's words alone."""

from __future__ import annotations

from bot.clarify import chosen_query, needs_clarification
from bot.state import BotState
from core.models.fake import HashingEmbedder
from core.types import Passage
from server.container import Services
from tests.bot.helpers import Chat

PRICES = """| Plan | Monthly price | Setup fee |
|---|---|---|
| Acme Basic | 10.00 | none |
| Acme Plus | 18.50 | 5.00 |
| Acme Family | 25.00 | 5.00 |"""


def _passage(article: str, title: str, section: str, text: str) -> Passage:
    return Passage(
        chunk_id=f"{article}-{section}", article_id=article, version=1, title=title, url="", section=section, text=text
    )


def test_a_price_that_depends_on_a_table_row_asks_which_row() -> None:
    passages = [_passage("a1", "Plans and prices", "Prices", PRICES), _passage("a2", "Moving", "Intro", "Tell us.")]
    wanted = needs_clarification("How much is the monthly price?", [], passages)
    assert wanted is not None and wanted.kind == "rows"
    assert wanted.subject == "plan"
    assert wanted.options == ("Basic", "Plus", "Family"), "the shared brand word is left out"


def test_a_question_that_names_a_row_or_has_a_figure_is_answered() -> None:
    passages = [_passage("a1", "Plans and prices", "Prices", PRICES)]
    assert needs_clarification("How much is the monthly price of Plus?", [], passages) is None
    assert needs_clarification("What plans do you have?", [], passages) is None, "asks for the rows themselves"
    assert needs_clarification("Is 18.50 the monthly price?", [], passages) is None
    assert needs_clarification("How much is the monthly price?", ["I'm on the family plan"], passages) is None


def test_the_customers_own_record_resolves_the_row() -> None:
    passages = [_passage("a1", "Plans and prices", "Prices", PRICES)]
    assert needs_clarification("How much is the monthly price?", [], passages, known="Acme Plus active") is None


def test_two_articles_that_fit_equally_well_are_named_in_one_question() -> None:
    embedder = HashingEmbedder()
    passages = [
        _passage(
            "m1",
            "Smart meter not sending readings",
            "What to check",
            "If your meter is not working, check the display.",
        ),
        _passage(
            "m2",
            "Prepayment meter top-up problems",
            "Top-up missing",
            "If your meter is not working after a top-up, check the display.",
        ),
    ]
    wanted = needs_clarification(
        "My meter is not working.", [], passages, embedder=embedder, margin=0.5, min_similarity=0.0, distinct_below=1.01
    )
    assert wanted is not None and wanted.kind == "readings"
    assert wanted.options == ("Smart meter not sending readings", "Prepayment meter top-up problems")
    # A word that belongs to one reading only means the customer already chose.
    chose = needs_clarification(
        "My prepayment meter is not working.",
        [],
        passages,
        embedder=embedder,
        margin=0.5,
        min_similarity=0.0,
        distinct_below=1.01,
    )
    assert chose is None


def test_never_for_the_customers_own_people() -> None:
    """The old word lists asked "Which person do you mean?" for any he/she in a first message."""
    passages = [_passage("a1", "Switching to us", "How it works", "We handle the switch for you.")]
    for text in (
        "My wife and I want to switch, and he already has a contract elsewhere",
        "He moved out last week, what now?",
    ):
        assert needs_clarification(text, [], passages, embedder=HashingEmbedder()) is None, text


def test_the_reply_to_a_clarification_picks_the_reading() -> None:
    options = ["Smart meter not sending readings", "Prepayment top-up problems"]
    assert chosen_query("the second one", "My meter isn't working", options).endswith("Prepayment top-up problems")
    assert "Smart meter" in chosen_query("it's the smart one", "My meter isn't working", options)
    assert chosen_query("no idea", "My meter isn't working", options) == "My meter isn't working no idea"


def test_the_bot_asks_once_names_the_rows_and_then_answers_the_chosen_one(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, None)
    asked = chat.say("How much does shipping cost?")
    assert asked is not None and asked.kind == "clarify", asked
    assert "Standard" in asked.text and "Express" in asked.text
    assert chat.memory.state is BotState.clarifying
    answered = chat.say("express")
    assert answered is not None and answered.kind == "answer"
    assert "9.90" in answered.text
    assert any("shipping" in c.article_id for c in answered.citations)


def test_never_two_clarifying_questions_in_a_row(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, None)
    first = chat.say("How much does shipping cost?")
    assert first is not None and first.kind == "clarify"
    again = chat.say("How much does shipping cost?")
    assert again is not None and again.kind != "clarify", "the loop guard answers the second time"
    assert chat.memory.state is BotState.answering


def test_a_specific_question_is_answered_without_a_clarification(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, None)
    reply = chat.say("how much is express shipping?")
    assert reply is not None and reply.kind == "answer"
