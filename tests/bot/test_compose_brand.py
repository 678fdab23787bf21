"""The company's own name counts for no coverage (``bot.compose.brand_stems``): which words
of the tenant's name are a name, on help centres whose name is also a word of the trade."""

from __future__ import annotations

from dataclasses import replace

from bot.compose import Composer, brand_stems
from bot.compose.units import AnswerUnit, from_passages
from core.models.fake import HashingEmbedder
from tests.bot.test_compose import GBP, kb


def units(body: str) -> list[AnswerUnit]:
    return from_passages(kb(("help", "Help", f"# Help\n\n{body}\n")))


def test_a_word_the_help_center_uses_in_another_form_is_not_the_name() -> None:
    # "saving" and "save" share the stem of "Savings": the help center uses the word.
    body = "With Acme Savings you save. Saving is easy with Acme."
    assert brand_stems("Acme Savings", units(body)) == {"acm"}
    body = "Buy food at Marks & Spencer. We mark every parcel."
    assert brand_stems("Marks & Spencer", units(body)) == {"spencer"}


def test_a_word_only_seen_opening_a_sentence_or_a_cell_is_not_known_to_be_a_name() -> None:
    body = (
        "Home Bank accounts are free.\n\nHome insurance is sold separately.\n\n"
        "| Cover | Fee |\n|---|---|\n| Home contents | £5 |"
    )
    assert brand_stems("Home Bank", units(body)) == {"bank"}, "'Home' only ever opens a sentence or a cell"
    named = "You can buy gas from Acme. Energy prices change in April."
    assert brand_stems("Acme Energy", units(named)) == {"acm"}, "'Energy' only ever opens a sentence"


def test_a_name_the_units_never_mention_is_not_left_out() -> None:
    assert brand_stems("Home Bank", units("Your account is free to open.")) == frozenset()


def test_letters_beyond_ascii_are_part_of_the_word() -> None:
    # "café" in lower case is a word of the trade, not the "Caf" of "Zoë Café"
    assert brand_stems("Zoë Café", units("Breakfast at Zoë Café starts at 8am. Our café serves tea.")) == {"zo"}


def test_the_name_in_an_address_or_a_possessive() -> None:
    body = "Email help@acme.example or visit acme.example/help or www.acme.co.uk. Ask Acme's team."
    assert brand_stems("Acme", units(body)) == {"acm"}
    assert brand_stems("", units(body)) == frozenset()
    assert brand_stems("AT&T", units("Ask AT&T about roaming.")) == frozenset()  # no content word


def test_a_trade_word_of_the_name_that_opens_a_sentence_still_tells_the_units_apart() -> None:
    passages = kb(
        (
            "cover",
            "What we cover",
            "# What we cover\n\nHome Bank sells savings accounts and insurance.\n\n"
            "Home insurance covers fire and theft.\n\nCar insurance covers accidents and theft.\n",
        )
    )
    composer = Composer(HashingEmbedder())
    selection = composer.select("What does home insurance cover?", passages, settings=replace(GBP, company="Home Bank"))
    cov = {s.unit.text: s.coverage for s in selection.parts[0].ranked}
    assert cov["Home insurance covers fire and theft."] > cov["Car insurance covers accidents and theft."], (
        "'home' of 'Home Bank' is the customer's word here, and only the home unit has it"
    )


def test_a_curly_apostrophe_reads_as_a_straight_one() -> None:
    # Phones and word processors type "can’t" and "Acme’s": the same words as "can't", "Acme's".
    from bot.answerability import features

    passages = kb(
        (
            "signin",
            "Signing in",
            "# Signing in\n\nIf you can't sign in at Acme, tap Forgot password. We email you a link.\n",
        )
    )
    composer = Composer(HashingEmbedder())
    acme = replace(GBP, company="Acme")
    straight = features(composer.select("I can't sign in to Acme's app, what should I do?", passages, settings=acme))
    curly = features(composer.select("I can’t sign in to Acme’s app, what should I do?", passages, settings=acme))
    assert curly == straight, "a curly apostrophe made 'can’t' and 'acme’' words the help center never uses"


def test_a_question_about_the_company_itself_keeps_its_name() -> None:
    from bot.answerability import features

    passages = kb(
        (
            "about",
            "About us",
            "# About us\n\nLarkspur Energy is a renewable supplier founded in 2015 in Leeds.\n\n"
            "## Paying\n\nYou can pay Larkspur by direct debit or card.\n",
        )
    )
    composer = Composer(HashingEmbedder())
    larkspur = replace(GBP, company="Larkspur Energy")
    assert brand_stems("Larkspur Energy", from_passages(passages)) == {"larkspur", "energi"}
    for question in ("What is Larkspur?", "Tell me about Larkspur Energy"):
        named = features(composer.select(question, passages, settings=larkspur))
        assert named["coverage"] > 0 and named["words"] > 0, f"{question!r}: the name is all it asks about"
    other = features(composer.select("Can Larkspur fit a heat pump?", passages, settings=larkspur))
    assert other["coverage"] == 0.0, "with other words, the name still covers nothing"
