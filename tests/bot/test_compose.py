"""Composed answers: each kind of fault of issue 12 on a small KB the test writes.

The KB goes through the real splitter (``knowledge.splitters``) into passages; the
answerer composes from answer units with the shipped hashing embedder. The abstain
decision is switched off here (threshold 0): these tests are about what is composed."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.answer import Answer, AnswerConfig, GroundedAnswerer
from bot.compose import ComposeSettings
from bot.hours import BusinessHours
from bot.tenant import TenantPolicy
from core.models.fake import HashingEmbedder, ScriptedChatModel
from core.types import CustomerFacts, Passage, TicketFact
from knowledge.documents import Document
from knowledge.splitters.headings import split_document
from prompts.loader import PromptLoader

TODAY = date(2026, 3, 10)  # a Tuesday
GBP = ComposeSettings(today=TODAY, currency="GBP", locale="en")


def kb(*articles: tuple[str, str, str]) -> list[Passage]:
    """(id, title, Markdown body) articles split as the KB splits them, as passages."""
    passages: list[Passage] = []
    for article_id, title, body in articles:
        doc = Document(id=article_id, title=title, body=body, url=f"https://help.example/{article_id}")
        passages += [c.to_passage(1.0) for c in split_document(doc, tenant_id="t", version=1)]
    return passages


def base_model() -> ScriptedChatModel:
    """A base model: never asked to write what the customer reads."""
    chat = ScriptedChatModel(["This must never be sent."])
    chat.follows_instructions = False
    return chat


def answerer(chat: ScriptedChatModel | None = None) -> GroundedAnswerer:
    return GroundedAnswerer(chat or base_model(), HashingEmbedder(), PromptLoader(), AnswerConfig(answer_threshold=0.0))


def ask(question: str, passages: list[Passage], **kw: object) -> Answer:
    kw.setdefault("settings", GBP)
    return answerer().answer(question, passages, **kw)  # type: ignore[arg-type]


PRICES = (
    "prices",
    "Membership prices",
    """# Membership prices

These are the prices of our gym memberships from 1 March 2026.

## Plans

| Plan | Monthly fee | Joining fee |
|---|---|---|
| Flexi | £25.00 per month | £30.00 |
| Annual | £19.00 per month | None |
| Student | £15.00 per month | £10.00 |

You can change plan at any time in the app.
""",
)


def test_a_table_row_is_answered_with_its_header_row() -> None:
    answer = ask("What's the joining fee on the Student plan?", kb(PRICES))
    assert answer.mode == "extractive"
    assert "Student" in answer.text and "joining fee: £10.00" in answer.text
    assert "£30.00" not in answer.text, "another row's fee"
    assert [c.article_id for c in answer.citations] == ["prices"]


def test_a_long_table_is_chunked_between_rows_and_every_piece_keeps_the_header() -> None:
    rows = "\n".join(
        f"| Plan {i} | £{10 + i}.00 per month | Includes {i} classes a week and towel service |" for i in range(40)
    )
    body = f"# Plans\n\n## All plans\n\n| Plan | Monthly fee | What's included |\n|---|---|---|\n{rows}\n"
    chunks = split_document(Document(id="all", title="All plans", body=body), tenant_id="t", version=1)
    assert len(chunks) > 1
    for chunk in chunks:
        lines = chunk.text.splitlines()
        assert lines[0] == "| Plan | Monthly fee | What's included |" and lines[1].startswith("|---")
        assert all(line.startswith("|") and line.endswith("|") for line in lines), "a row was cut"
    last = [c.to_passage(1.0) for c in chunks]
    answer = ask("How much is Plan 37 a month?", last)
    assert "Plan 37" in answer.text and "monthly fee: £47.00 per month" in answer.text


STEPS = (
    "reset-password",
    "Reset your password",
    """# Reset your password

If you forgot your password, you can set a new one in a minute.

## How to reset it

1. Open the sign-in page and choose **Forgot password**.
2. Enter the e-mail address of your account.
3. Open the link we e-mail you; it works for 30 minutes.
4. Choose a new password of at least 12 characters.
""",
)


def test_steps_come_as_a_numbered_list_in_order_and_are_never_cut() -> None:
    doc = Document(id=STEPS[0], title=STEPS[1], body=STEPS[2])
    for chunk in split_document(doc, tenant_id="t", version=1, max_chars=140):
        for line in chunk.text.splitlines():
            assert not line.strip() or line[:2].rstrip(".").isdigit() or not line[0].isdigit()
    answer = ask("How do I reset my password?", kb(STEPS))
    lines = answer.text.splitlines()
    assert [ln[:2] for ln in lines if ln[:1].isdigit()] == ["1.", "2.", "3.", "4."]
    assert "Forgot password" in lines[0] and "12 characters" in lines[-1]


SHIPPING = (
    "shipping",
    "Shipping options",
    """# Shipping options

## What does shipping cost?

Standard shipping is free on orders over £50. Express shipping costs £9.90 and arrives the next working day.
""",
)
ADDRESS = (
    "change-address",
    "Change your delivery address",
    """# Change your delivery address

## Can I change the address after ordering?

You can change the delivery address in your account until the order is packed.
After that, contact us and we'll ask the carrier.
""",
)


def test_both_parts_of_a_two_part_question_are_answered() -> None:
    answer = ask(
        "How much does express shipping cost, and can I change the delivery address after ordering?",
        kb(SHIPPING, ADDRESS),
    )
    assert "£9.90" in answer.text
    assert "change the delivery address" in answer.text
    assert {c.article_id for c in answer.citations} == {"shipping", "change-address"}


MOVING = (
    "moving",
    "Moving out",
    """# Moving out

## Your final bill

We'll send your final bill within 14 days of your moving date. Please keep paying until then.

## Corrections

If a reading you send shows the bill was wrong, we'll send a corrected bill within 2 working days.
""",
)


def test_a_deadline_is_worked_out_from_the_customers_date() -> None:
    answer = ask(
        "When should I expect my final bill?",
        kb(MOVING),
        customer_said=["I'm moving out of my flat on 27 March."],
    )
    assert "14 days" in answer.text
    assert "Friday 10 April 2026" in answer.text, answer.text  # 27 March 2026 + 14 days, shown with its working


def test_working_days_from_today_skip_the_weekend_and_the_tenants_closed_dates() -> None:
    friday = ComposeSettings(today=date(2026, 3, 13), currency="GBP", closed=frozenset({date(2026, 3, 16)}))
    answer = ask("If I send you a reading today, when will I get the corrected bill?", kb(MOVING), settings=friday)
    # Friday + 2 working days: Monday 16 is closed, so Tuesday 17 and Wednesday 18.
    assert "Wednesday 18 March 2026" in answer.text, answer.text


def test_today_is_the_tenants_today_in_its_timezone() -> None:
    policy = TenantPolicy(hours=BusinessHours(timezone="Pacific/Auckland"), currency="NZD")
    late_utc = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # already 11 March in Auckland
    settings = ComposeSettings.for_tenant(policy, late_utc)
    assert settings.today == date(2026, 3, 11) and settings.currency == "NZD"


def _customer(**attributes: object) -> CustomerFacts:
    return CustomerFacts(
        customer_id="C-1",
        name="Sam Doe",
        attributes=attributes,
        tickets=[
            TicketFact(
                id="T-1",
                subject="Late payment reminder",
                status="open",
                created_at="2026-03-01",
                summary="Agent note: stage D-28, apply code GW-SVC-01 if the customer calls back.",
            )
        ],
    )


def test_an_account_question_is_answered_from_the_customers_own_record() -> None:
    customer = _customer(
        payment={"method": "direct_debit", "next_payment_date": "2026-03-18", "direct_debit_amount": 112.0},
        collections={"stage": "D-28"},
        date_of_birth="1980-01-01",
    )
    answer = ask("When is my next payment, and how much will it be?", kb(SHIPPING), customer=customer)
    assert "Wednesday 18 March 2026" in answer.text and "£112.00" in answer.text
    assert [(c.article_id, c.title) for c in answer.citations] == [("account", "Your account")]
    for internal in ("D-28", "GW-SVC-01", "Agent note", "1980"):
        assert internal not in answer.text


def test_amounts_of_the_record_use_the_tenants_currency() -> None:
    customer = _customer(balance={"amount": 40.5, "status": "credit"})
    eur = ComposeSettings(today=TODAY, currency="EUR", locale="de")
    answer = ask("What is my balance?", kb(SHIPPING), customer=customer, settings=eur)
    assert "40,50\xa0€" in answer.text, answer.text


def test_a_question_that_is_not_about_the_account_is_answered_from_the_help_center() -> None:
    customer = _customer(payment={"next_payment_date": "2026-03-18", "direct_debit_amount": 112.0})
    answer = ask("How much does express shipping cost?", kb(SHIPPING), customer=customer)
    assert "£9.90" in answer.text and [c.article_id for c in answer.citations] == ["shipping"]


LAMP = (
    "headlamp",
    "Headlamp battery",
    """# Headlamp battery

## Battery life

On the low setting the battery lasts 40 hours. On the high setting it lasts 6 hours.

## Charging

Plug the USB-C cable into any charger. A full charge takes about 2 hours, and the light turns green when it is done.
""",
)


def test_a_follow_up_gets_what_it_asks_for_not_the_earlier_answer() -> None:
    passages = kb(LAMP)
    first = ask("How long does the battery last?", passages)
    assert "40 hours" in first.text
    follow = ask(
        "And how long does it take to charge?",
        passages,
        query="And how long does it take to charge? battery last",
        said_before=[first.text],
        customer_said=["How long does the battery last?"],
    )
    assert "about 2 hours" in follow.text, follow.text
    assert "40 hours" not in follow.text


ENERGY = (
    "night-rate",
    "Night rate",
    """# Night rate

## Prices

| Period | Times | Unit rate |
|---|---|---|
| Night | 00:30–05:30 | 8.50p per kWh |
| Day | All other times | 27.40p per kWh |
""",
)


def test_a_simple_sum_is_worked_from_the_cited_rate() -> None:
    answer = ask("How much would 40 kWh cost at the night rate?", kb(ENERGY))
    assert "40 kWh × 8.50p = 340p = £3.40" in answer.text, answer.text


def test_a_base_model_never_writes_and_the_composed_answer_streams() -> None:
    chat = base_model()
    streamed: list[str] = []
    answer = answerer(chat).answer(
        "How much does express shipping cost?", kb(SHIPPING), on_token=streamed.append, settings=GBP
    )
    assert chat.prompts == [], "the base model was asked to write"
    assert answer.mode == "extractive" and "£9.90" in answer.text
    assert "".join(streamed) == answer.text


def test_the_calibrated_decision_abstains_off_topic_and_the_tenant_sets_the_threshold() -> None:
    fitted = GroundedAnswerer(base_model(), HashingEmbedder(), PromptLoader())  # bot/answerability.json
    passages = kb(SHIPPING, ADDRESS)
    assert fitted.answer("What is the zorblax quintuple frobnication of a wombat?", passages, settings=GBP).mode == (
        "abstain"
    )
    assert fitted.answer("How much does express shipping cost?", passages, settings=GBP).mode == "extractive"
    strict = ComposeSettings(today=TODAY, currency="GBP", answer_threshold=1.0)
    assert fitted.answer("How much does express shipping cost?", passages, settings=strict).mode == "abstain"


BANK = (
    "bank",
    "Paying by bank transfer",
    """# Paying by bank transfer

## Moving to a new bank

When you change bank account, set up the new standing order with us in the app. Keep the old one open
until the new instruction is in place, which takes up to 3 working days.

## Statements

We send a statement by email on the first day of every month.
""",
)


def test_a_how_to_sentence_keeps_the_next_sentence_of_its_paragraph() -> None:
    answer = ask("How do I change my standing order to a new bank account?", kb(BANK))
    assert "set up the new standing order" in answer.text
    assert "3 working days" in answer.text, "the instruction's caveat, in the same paragraph, was cut off"
    assert "statement by email" not in answer.text


def test_a_next_sentence_past_the_length_cap_is_left_out() -> None:
    long_tail = "Keep the old one open until the new instruction is in place" + ", and then some more" * 20 + "."
    body = BANK[2].replace(
        "Keep the old one open\nuntil the new instruction is in place, which takes up to 3 working days.",
        long_tail.strip(),
    )
    answer = ask("How do I change my standing order to a new bank account?", kb((BANK[0], BANK[1], body)))
    assert "set up the new standing order" in answer.text
    assert "Keep the old one open" not in answer.text, "a sentence past the length cap"



BRAND = (
    "perks",
    "Acme perks",
    "# Acme perks\n\nAcme members get Acme Energy points with every bill.\n\nSaving energy at home lowers your bill.\n",
)


def test_the_companys_own_name_in_a_question_covers_nothing() -> None:
    from dataclasses import replace

    from bot.answerability import features
    from bot.compose import Composer, brand_stems
    from bot.compose.units import from_passages

    passages = kb(BRAND)
    assert brand_stems("Acme Energy", from_passages(passages)) == {"acm"}, "'energy' is a word of the trade here"
    composer = Composer(HashingEmbedder())
    acme = replace(GBP, company="Acme Energy")
    named = features(composer.select("Does Acme install heat pumps?", passages, settings=acme))
    plain = features(composer.select("Do you install heat pumps?", passages, settings=acme))
    unnamed = features(composer.select("Does Acme install heat pumps?", passages, settings=GBP))
    assert named["coverage"] == named["coverage_any"] == plain["coverage"] == 0.0
    assert unnamed["coverage"] > 0, "without the company's name, 'Acme' in the question matched the perks article"


def test_the_next_sentence_is_not_one_the_customer_says_they_already_did() -> None:
    said = ["I already kept the old one open until the new instruction was in place."]
    answer = ask("How do I change my standing order to a new bank account?", kb(BANK), customer_said=said)
    assert "set up the new standing order" in answer.text
    assert "Keep the old one open" not in answer.text, "the customer said they already did it"


def test_the_next_sentence_is_not_a_question_the_help_center_asks_its_reader() -> None:
    meter = (
        "meter",
        "Meter readings",
        "# Meter readings\n\n## Reading a smart meter\n\nTo read your smart meter, press the red button twice and"
        " note the number on the screen. Need a hand with anything else?\n\nWe send your bill by email each month.\n",
    )
    answer = ask("How do I read my smart meter?", kb(meter))
    assert "press the red button twice" in answer.text
    assert "Need a hand" not in answer.text, "the reply ended with the article's question to its reader"
