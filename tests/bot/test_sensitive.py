"""The sensitive-topic, request and other-person detectors on their own (no bot, no model)."""

from __future__ import annotations

import pytest

from bot.others import other_persons_data
from bot.sensitive import bereavement, cancellation, category_of, fraud, legal_threat
from bot.triggers import declines_person, explicit_request, negativity, reports_failure
from core.tenancy.config import SensitiveTopic


@pytest.mark.parametrize(
    "text",
    [
        "could I chat with a real human please",
        "is there somebody I can speak to about my contract?",
        "I'd prefer to sort it out with your staff rather than a chatbot",
        "stop making me type to a bot",
        "I don't know how to reach an agent",
        "agent please",
    ],
)
def test_requests_for_a_person(text: str) -> None:
    assert explicit_request(text)


@pytest.mark.parametrize(
    "text",
    [
        "no need to put me through to anyone, I only want the opening hours",
        "I don't want to talk to a person, just tell me the price",
        "what are your phone support hours?",
        "is anyone else seeing this error?",
    ],
)
def test_not_requests_for_a_person(text: str) -> None:
    assert not explicit_request(text)


def test_a_negated_request_declines_a_person() -> None:
    assert declines_person("I don't need to speak to an agent, just answer me")
    assert not declines_person("please let me speak to an agent")


def test_legal_threats_are_statements_not_questions() -> None:
    assert legal_threat("my lawyer will hear about this")
    assert legal_threat("I will report you to the regulator if this goes on")
    assert legal_threat("see you in small claims court")
    assert not legal_threat("How do I escalate a complaint to the regulator?")
    assert not legal_threat("I'm not going to sue, I just want it fixed")


def test_fraud_and_account_takeover() -> None:
    assert fraud("someone logged in to my account from another country")
    assert fraud("there are two payments on my statement that aren't mine")
    assert fraud("my login details were stolen")
    assert fraud("I typed my card details into a link in a text and now I think it was fake")
    assert not fraud("this service is a total scam")  # a complaint, not a fraud report
    assert not fraud("how do I update my card details?")


def test_a_reported_death_is_not_an_executors_question() -> None:
    assert bereavement("my mother passed away on Sunday")
    assert bereavement("I'm writing because my husband has died")
    assert not bereavement("I'm the executor of my aunt's estate, where do I send the will?")
    assert not bereavement("my laptop died so I couldn't pay online")


def test_leaving_is_a_statement_not_a_question_about_fees() -> None:
    assert cancellation("I'd like to terminate my contract")
    assert cancellation("I'm switching to another provider next month")
    assert cancellation("I want to leave Acme", "Acme")
    assert not cancellation("how much would it cost to end my contract early?")
    assert not cancellation("please unsubscribe me from the newsletter and cancel my e-mail subscription")
    assert not cancellation("I don't want to cancel my plan, just change the date")


def test_a_tenant_topic_borrows_the_category_its_examples_belong_to() -> None:
    topic = SensitiveTopic(key="legal_threat", examples=["my solicitor will write to you", "I'm taking you to court"])
    cat = category_of(topic)
    assert cat is not None and cat.reason.value == "sensitive_legal"
    custom = SensitiveTopic(key="safety", examples=["the charger melted"])
    assert category_of(custom) is None


def test_steps_that_did_not_work() -> None:
    assert reports_failure("I did what you said and the light still blinks red")
    assert reports_failure("tried that twice, same error")
    assert not reports_failure("thanks, that worked")
    assert not reports_failure("and how long does delivery take?")


def test_frustration_ignores_negated_words() -> None:
    assert negativity("I'm not angry, just confused") == 0
    assert negativity("this is useless and ridiculous!!") >= 1.0


def test_other_peoples_data() -> None:
    assert other_persons_data("what does my flatmate owe you? she moved out")
    assert other_persons_data("Is the previous tenant still a customer of yours?")
    assert other_persons_data("can you tell me his phone number? he's my neighbour")
    assert other_persons_data("my partner and I want to set up a joint account") is None
    assert other_persons_data("he already has a contract elsewhere, can I switch on my own?") is None
