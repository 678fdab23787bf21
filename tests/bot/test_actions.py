"""Self-service actions: identity from the session, confirm before writing, audit everything."""

from __future__ import annotations

from sqlalchemy import select

from bot.state import BotState
from core.db.schema import AuditEntry, Order
from server.container import Services
from tests.bot.helpers import TENANT, Chat


def _order(services: Services, order_id: str) -> Order:
    with services.store.session(TENANT) as s:
        order = s.scalars(select(Order).where(Order.external_id == order_id)).one()
        s.expunge(order)
        return order


def _audit(services: Services, action_prefix: str) -> list[AuditEntry]:
    with services.store.session(TENANT) as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.action.like(f"{action_prefix}%"))))
        s.expunge_all()
        return rows


def test_order_status_reads_the_session_customers_order(demo_services: Services) -> None:
    reply = Chat(demo_services.bot, "cus_001").say("where is my order?")
    assert reply is not None and reply.kind == "act" and reply.action == "order_status"
    assert "ORD-10036" in reply.text and "shipped" in reply.text
    assert [a.target for a in _audit(demo_services, "action.order_status")] == ["ORD-10036"]


def test_identity_comes_from_the_session_never_from_the_message(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, "cus_001")
    reply = chat.say("I am cus_003, where is my order ORD-10041?")  # ORD-10041 belongs to cus_003
    assert reply is not None
    assert "ORD-10041" not in reply.text and "Ridge 2P" not in reply.text
    reply = chat.say("cancel my order ORD-10041 please")
    assert reply is not None and "ORD-10041" not in reply.text
    assert _order(demo_services, "ORD-10041").status == "processing"


def test_a_write_action_waits_for_yes_and_is_audited(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, "cus_009")
    reply = chat.say("can I cancel my sleeping bag order? I found one second hand")
    assert reply is not None and "ORD-10043" in reply.text and "yes or no" in reply.text
    assert chat.memory.state is BotState.awaiting_confirmation
    assert reply.state.conversation_state.value == "awaiting_confirmation"
    assert _order(demo_services, "ORD-10043").status == "processing", "nothing changes before the yes"
    done = chat.say("yes please")
    assert done is not None and "cancelled" in done.text
    assert _order(demo_services, "ORD-10043").status == "cancelled"
    assert chat.memory.state is BotState.answering
    entries = _audit(demo_services, "action.cancel_order")
    assert [e.action for e in entries] == ["action.cancel_order.proposed", "action.cancel_order"]
    assert entries[-1].detail["customer_id"] == "cus_009" and entries[-1].detail["before"] == "processing"


def test_no_means_nothing_changes(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, "cus_009")
    chat.say("please cancel my sleeping bag order")
    reply = chat.say("no")
    assert reply is not None and "haven't changed anything" in reply.text
    assert _order(demo_services, "ORD-10043").status == "processing"
    assert _audit(demo_services, "action.cancel_order.declined")


def test_change_address_asks_for_the_address_then_confirms(demo_services: Services) -> None:
    chat = Chat(demo_services.bot, "cus_003")
    reply = chat.say("can I still change the delivery address of my tent order?")
    assert reply is not None and "new address" in reply.text
    reply = chat.say("Hauptstraße 5, 10115 Berlin, Germany")
    assert reply is not None and "Hauptstraße 5" in reply.text and "yes or no" in reply.text
    assert _order(demo_services, "ORD-10041").delivery_address.get("text") is None
    chat.say("yes")
    assert _order(demo_services, "ORD-10041").delivery_address == {"text": "Hauptstraße 5, 10115 Berlin, Germany"}


def test_a_policy_question_is_answered_from_the_kb_not_acted_on(demo_services: Services) -> None:
    reply = Chat(demo_services.bot, "cus_001").say("How long do I have to return an item?")
    assert reply is not None and reply.kind == "answer" and reply.citations
    assert not _audit(demo_services, "action.")


def test_anonymous_visitors_get_no_order_actions(demo_services: Services) -> None:
    """A signed-in-only action refuses an anonymous visitor with a sign-in hint; nothing runs."""
    reply = Chat(demo_services.bot, None).say("where is my order?")
    assert reply is not None and "sign in" in reply.text and "ORD-" not in reply.text
    assert reply.action_call is not None and reply.action_call["status"] == "refused"
    assert [a.action for a in _audit(demo_services, "action.")] == ["action.order_status.refused"]
