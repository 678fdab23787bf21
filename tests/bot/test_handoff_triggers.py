"""Every handoff trigger, with the brief a human needs to act."""

from __future__ import annotations

from sqlalchemy import select

from core.db.schema import Ticket
from core.models.fake import ScriptedChatModel
from core.types import HandoffReason
from server.container import Services
from server.demo import demo_tenant_config
from tests.bot.helpers import SUNDAY, TENANT, Chat


def test_explicit_request_hands_off_to_the_topic_queue_with_orders_in_the_brief(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, "cus_003")
    assert chat.say("hi, my order hasn't arrived") is not None
    assert chat.say("I want to speak to a real person") is None
    brief = chat.brief
    assert brief.reason is HandoffReason.explicit_request
    assert brief.queue == "orders" and brief.intent == "order_status"
    assert brief.customer is not None and brief.customer.orders, "the agent sees the recent orders"
    assert "my order hasn't arrived" in brief.summary
    assert any("order_status" in t for t in brief.tried)


def test_no_answer_twice_hands_off_to_general(demo_services: Services) -> None:
    demo_services.answerer.chat = ScriptedChatModel(["I don't know."])  # the model finds nothing either
    chat = Chat(demo_services.bot, None)
    first = chat.say("what is the zorblax quintuple hyperspace frobnication?")
    assert first is not None and first.kind == "abstain"
    assert "connect you with a person" in first.text
    assert chat.say("and what is the glorptic flux capacitance of a wombat?") is None
    assert chat.brief.reason is HandoffReason.no_answer and chat.brief.queue == "general"


def test_frustration_hands_off_with_high_priority_and_negative_sentiment(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, "cus_004")
    chat.say("my Aero still doesn't heat")
    assert chat.say("this is useless, I'm so angry, worst service ever") is None
    brief = chat.brief
    assert brief.reason is HandoffReason.frustration and brief.priority == "high"
    assert brief.sentiment < 0


def test_a_single_mild_complaint_does_not_hand_off(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, "cus_017")
    assert chat.say("ugh this is annoying, my headlamp order still says processing") is not None
    assert chat.handoff is None


def test_repeating_the_same_question_hands_off_as_repeated_failure(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, "cus_022")
    assert chat.say("does the trail gps work with my phone") is not None
    assert chat.say("will the trail gps watch work with my phone") is not None
    assert chat.say("does the watch work with my phone or not") is None
    assert chat.brief.reason is HandoffReason.repeated_failure and chat.brief.priority == "high"
    assert "asked the same thing" in chat.brief.reason_detail


def test_steps_that_did_not_work_twice_hand_off_as_repeated_failure(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, "cus_004")
    assert chat.say("how do I descale the aero") is not None
    assert chat.say("I did the descaling like you said and it still doesn't heat") is not None, "one report: answer"
    assert chat.say("tried it again, still nothing") is None
    assert chat.brief.reason is HandoffReason.repeated_failure
    assert "did not work" in chat.brief.reason_detail


def test_sensitive_topics_record_their_exact_reason_and_route_to_the_tenants_queue(demo_services: Services) -> None:
    for text, reason, queue in [
        ("My father passed away last month, how do I close his account?", "sensitive_bereavement", "trust_safety"),
        ("this is a scam and I'm going to get my lawyer involved", "sensitive_legal", "trust_safety"),
        ("someone used my card fraudulently on your site", "sensitive_fraud", "trust_safety"),
        ("I want to cancel my Plus membership", "cancellation", "general"),
    ]:
        chat = Chat(demo_services.bot, None)
        assert chat.say(text) is None, text
        assert chat.brief.reason.value == reason, text
        assert chat.brief.queue == queue, text
    assert chat.brief.priority == "normal", "leaving is not urgent"


def test_after_hours_opens_a_ticket_and_offers_a_callback(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, "cus_007", now=SUNDAY)
    assert chat.say("I want to talk to a person about a payment problem") is None
    assert chat.brief.reason is HandoffReason.after_hours
    assert "explicit_request" in chat.brief.reason_detail
    assert chat.handoff is not None
    message = chat.handoff.customer_message
    assert "call back" in message and "e-mail" in message and "Monday at 08:00" in message
    with demo_services.store.session(TENANT) as s:
        tickets = list(s.scalars(select(Ticket).where(Ticket.conversation_id == "c1")))
    assert tickets and tickets[0].external_id in message


def test_unsupported_language_hands_off_with_the_language_in_the_brief(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, None)
    assert chat.say("Dzień dobry, chciałbym zwrócić namiot.") is None
    assert chat.brief.reason is HandoffReason.unsupported_language
    assert chat.brief.language == "pl" and "Polish" in chat.brief.reason_detail


def test_triggers_are_configurable_per_tenant(demo_services: Services) -> None:
    config = {**demo_tenant_config(), "handoff_triggers": {"sensitive_topics": False, "after_hours": False}}
    demo_services.store.ensure_tenant(TENANT, "Larkspur", config)
    chat = Chat(demo_services.bot, None, now=SUNDAY)
    assert chat.say("My father passed away last month.") is not None  # no sensitive-topic handoff
    assert chat.say("can I talk to an agent please") is None
    assert chat.brief.reason is HandoffReason.explicit_request  # no after-hours rerouting either
