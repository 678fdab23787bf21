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


def test_after_hours_queue_only_keeps_the_conversation_queued_without_a_ticket(demo_services: Services) -> None:
    config = demo_tenant_config()
    config["handoff"] = {**config.get("handoff", {}), "after_hours_action": "queue_only"}
    demo_services.store.ensure_tenant(TENANT, "Larkspur", config)
    chat = Chat(demo_services.bot, "cus_007", now=SUNDAY)
    assert chat.say("I want to talk to a person about a payment problem") is None
    assert chat.brief.reason is HandoffReason.after_hours
    assert chat.handoff is not None
    message = chat.handoff.customer_message
    assert "offline" in message and "Monday at 08:00" in message and "ticket" not in message
    with demo_services.store.session(TENANT) as s:
        assert not list(s.scalars(select(Ticket).where(Ticket.conversation_id == "c1")))


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


# -- requests for a person, negated or indirect -------------------------------------------


def test_a_negated_request_for_a_person_is_no_request(demo_services: Services) -> None:
    for text in (
        "I don't need to talk to a person, just tell me about refunds",
        "no need to transfer me to an agent, what is the return window?",
        "I do not want to speak to anyone, how long do refunds take?",
    ):
        chat = Chat(demo_services.bot, None)
        assert chat.say(text) is not None, f"handed off on {text!r}"
        assert chat.handoff is None


def test_an_indirect_request_for_a_person_hands_off(demo_services: Services) -> None:
    for text in (
        "honestly, can I speak to someone who can actually sort this out?",
        "I'd rather deal with this with one of your staff than type to a machine. Anybody there?",
    ):
        chat = Chat(demo_services.bot, None)
        assert chat.say(text) is None, text
        assert chat.brief.reason is HandoffReason.explicit_request


# -- other people's data -------------------------------------------------------------------


def test_another_customers_account_is_declined_without_confirming_anything(demo_services: Services) -> None:
    """Jonas Weber (cus_002) is a customer; a signed-in customer asking about him learns nothing."""
    chat = Chat(demo_services.bot, "cus_001")
    reply = chat.say(
        "My neighbour Jonas Weber shops with you too. Can you tell me his e-mail address and what he ordered?"
    )
    assert reply is not None and chat.handoff is None
    assert reply.mode == "other_person"
    text = reply.text.lower()
    assert "another person" in text and "not even whether" in text
    for leak in ("jonas", "weber", "jonas.weber@example.com", "cus_002"):
        assert leak not in text, leak
    assert any(m.startswith("declined a request about another person") for m in chat.memory.tried)


def test_mentioning_ones_own_people_is_not_a_request_for_their_data(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, "cus_001")
    reply = chat.say("My husband ordered the same tent last year, how long do I have to return an item?")
    assert reply is not None and reply.mode != "other_person"


# -- the tenant's own sensitive topics and policies ------------------------------------------


def test_a_tenant_topic_is_matched_by_meaning_and_recorded_with_the_tenants_reason(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, "cus_019")
    assert chat.say("I'll do a chargeback with my bank today") is None
    assert chat.brief.reason.value == "sensitive_topic"  # demo/tenant.yaml names this reason
    assert chat.brief.queue == "trust_safety"


def _with_topics(services: Services, topics: list[dict[str, object]]) -> None:
    config = {**demo_tenant_config(), "sensitive_topics": topics}
    services.store.ensure_tenant(TENANT, "Larkspur", config)


def test_an_emergency_topic_is_answered_at_once_not_handed_off(demo_services: Services) -> None:
    _with_topics(demo_services, [{"key": "battery_fire", "examples": ["my battery is on fire"], "policy": "emergency"}])
    chat = Chat(demo_services.bot, None)
    reply = chat.say("my battery is on fire")
    assert reply is not None and chat.handoff is None
    assert any("emergency topic battery_fire" in t for t in chat.memory.tried)


def test_answer_then_offer_offers_a_person_and_yes_records_the_topics_reason(demo_services: Services) -> None:
    _with_topics(
        demo_services,
        [
            {
                "key": "hardship",
                "examples": ["I can't afford to pay for my order"],
                "policy": "answer_then_offer_handoff",
            }
        ],
    )
    chat = Chat(demo_services.bot, "cus_007")
    reply = chat.say("I can't afford to pay for my order")
    assert reply is not None and chat.handoff is None
    assert chat.memory.offered_human and chat.memory.offer_reason == "sensitive_hardship"
    assert chat.say("yes please") is None
    assert chat.brief.reason.value == "sensitive_hardship"


# -- notices in the customer's language ------------------------------------------------------


def test_the_handoff_notice_is_in_the_customers_language(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, None)
    assert chat.say("Bonjour, je voudrais retourner ma tente, comment faire ?") is None
    assert chat.brief.reason is HandoffReason.unsupported_language and chat.brief.language == "fr"
    assert chat.handoff is not None
    assert "Désolé" in chat.handoff.customer_message and "anglais" in chat.handoff.customer_message


def test_the_after_hours_notice_is_in_the_customers_language(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, None, now=SUNDAY)
    assert chat.say("Guten Tag, ich möchte bitte mit einem Mitarbeiter über meine Bestellung sprechen.") is None
    assert chat.brief.reason is HandoffReason.after_hours
    assert chat.handoff is not None
    message = chat.handoff.customer_message
    assert "Unser Team ist gerade nicht erreichbar" in message and "Montag" in message


def test_a_language_without_texts_gets_english_that_says_so(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, None)
    assert chat.say("こんにちは、注文した商品がまだ届きません。") is None
    assert chat.handoff is not None
    assert "I can only help in English" in chat.handoff.customer_message
