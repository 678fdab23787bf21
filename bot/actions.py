"""Self-service actions on the customer's own orders: order status (read), start a return,
change the delivery address and cancel an order (writes).

The customer is always the one of the session (``customer_id`` passed in by the server
from the authenticated principal), never someone named in the message: an order number in
the text only picks among *this* customer's orders. Write actions are proposed first and
run only after the customer confirms. Every action — read, proposal, write, refusal —
writes an audit entry. Text retrieved from the KB never reaches this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from pydantic import BaseModel, Field
from sqlalchemy import select

from core.db.conversations import audit
from core.db.schema import Order, Ticket
from core.db.store import Store

_ORDER_ID = re.compile(r"\bORD-?\s?(\d{4,})\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_GENERIC = frozenset("larkspur order my the a and of set with for item items".split())
OPEN_STATUSES = ("processing", "partially_shipped", "shipped", "in_transit", "out_for_delivery")
RETURN_DAYS = 30


class ActionKind(str, Enum):
    order_status = "order_status"
    start_return = "start_return"
    change_address = "change_address"
    cancel_order = "cancel_order"

    @property
    def writes(self) -> bool:
        return self is not ActionKind.order_status


class PendingAction(BaseModel):
    """A write action waiting for the customer's yes (or the missing detail, e.g. the address)."""

    kind: ActionKind
    order_id: str | None = None
    candidates: list[str] = Field(default_factory=list)  # order ids when we asked "which order?"
    new_address: str | None = None
    awaiting: str = "confirmation"  # confirmation | order | address


@dataclass
class ActionOutcome:
    text: str
    status: str  # done | proposed | needs_order | needs_address | not_eligible | no_orders | declined
    order_id: str | None = None
    pending: PendingAction | None = None
    facts: dict[str, str] = field(default_factory=dict)


def _items(o: Order) -> str:
    names = [str(i.get("name", i.get("sku", ""))) for i in o.items if not str(i.get("sku", "")).startswith("SHIP")]
    return ", ".join(names) or "your items"


def _label(o: Order) -> str:
    return f"{o.external_id} ({_items(o)}, {o.status.replace('_', ' ')})"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _pick(orders: list[Order], text: str) -> list[Order]:
    """Orders the message points at: an order number first, then product words."""
    ids = {f"ORD-{m}" for m in _ORDER_ID.findall(text)}
    if ids:
        return [o for o in orders if o.external_id.upper() in ids]
    words = {w for w in _WORD.findall(text.lower()) if w not in _GENERIC and len(w) > 2}
    words |= {w[:-1] for w in words if w.endswith("s")}  # pillows -> pillow
    scored = []
    for o in orders:
        item_words = {w for w in _WORD.findall(_items(o).lower()) if w not in _GENERIC and len(w) > 2}
        hits = len(words & item_words)
        if hits:
            scored.append((hits, o))
    if not scored:
        return []
    best = max(h for h, _ in scored)
    return [o for h, o in scored if h == best]


class ActionRunner:
    def __init__(self, store: Store, actor: str = "bot") -> None:
        self.store = store
        self.actor = actor

    def _orders(self, tenant_id: str, customer_id: str) -> list[Order]:
        with self.store.session(tenant_id) as s:
            rows = s.scalars(
                select(Order).where(Order.customer_id == customer_id).order_by(Order.placed_at.desc())
            ).all()
            s.expunge_all()
            return list(rows)

    def _audit(self, tenant_id: str, customer_id: str, action: str, target: str, **detail: object) -> None:
        with self.store.session(tenant_id) as s:
            audit(s, f"{self.actor}:{customer_id}", action, target, customer_id=customer_id, **detail)

    # -- choosing the order --------------------------------------------------------------

    def _eligible(self, kind: ActionKind, o: Order, now: datetime) -> bool:
        if kind is ActionKind.order_status:
            return o.status in OPEN_STATUSES
        if kind in (ActionKind.change_address, ActionKind.cancel_order):
            return o.status == "processing"
        delivered = _parse_time(o.delivered_at)
        return o.status == "delivered" and delivered is not None and now - delivered <= timedelta(days=RETURN_DAYS)

    def choose(
        self, kind: ActionKind, tenant_id: str, customer_id: str, text: str, now: datetime, conversation_id: str = ""
    ) -> tuple[Order | None, ActionOutcome | None]:
        """The one order this action is about, or an outcome that asks / explains."""
        orders = self._orders(tenant_id, customer_id)
        if not orders:
            self._audit(tenant_id, customer_id, f"action.{kind.value}.no_orders", "", conversation=conversation_id)
            return None, ActionOutcome("I can't find any orders on your account.", "no_orders")
        named = _pick(orders, text)
        pool = named or [o for o in orders if self._eligible(kind, o, now)]
        if not pool and kind is ActionKind.order_status:
            pool = orders[:1]  # nothing open: the latest order
        if len(pool) == 1:
            return pool[0], None
        if not pool:
            return None, self._not_eligible(kind, tenant_id, customer_id, None, conversation_id)
        options = " or ".join(_label(o) for o in pool[:3])
        pending = PendingAction(kind=kind, candidates=[o.external_id for o in pool[:3]], awaiting="order")
        return None, ActionOutcome(f"Which order do you mean: {options}?", "needs_order", pending=pending)

    def _not_eligible(
        self, kind: ActionKind, tenant_id: str, customer_id: str, o: Order | None, conversation_id: str
    ) -> ActionOutcome:
        target = o.external_id if o else ""
        self._audit(
            tenant_id,
            customer_id,
            f"action.{kind.value}.refused",
            target,
            conversation=conversation_id,
            status=o.status if o else "",
        )
        what = f"order {_label(o)}" if o else "any of your orders"
        text = {
            ActionKind.start_return: f"I can't start a return for {what} in the chat: returns are possible within "
            f"{RETURN_DAYS} days of delivery.",
            ActionKind.change_address: f"I can't change the delivery address of {what} any more: that is only "
            "possible before an order ships.",
            ActionKind.cancel_order: f"I can't cancel {what} any more: orders can only be cancelled before they ship.",
            ActionKind.order_status: f"I can't find {what}.",
        }[kind]
        return ActionOutcome(text + " Would you like me to connect you with a person?", "not_eligible", target or None)

    # -- read ----------------------------------------------------------------------------

    def order_status(self, tenant_id: str, customer_id: str, order: Order, conversation_id: str = "") -> ActionOutcome:
        self._audit(tenant_id, customer_id, "action.order_status", order.external_id, conversation=conversation_id)
        parts = [f"Your order {order.external_id} ({_items(order)}) is {order.status.replace('_', ' ')}."]
        if order.shipped_at and order.status != "delivered":
            parts.append(
                f"It shipped on {order.shipped_at[:10]} with {order.carrier or 'our carrier'}"
                + (f", tracking number {order.tracking}." if order.tracking else ".")
            )
        if order.delivered_at:
            parts.append(f"It was delivered on {order.delivered_at[:10]}.")
        if order.status == "processing":
            parts.append("It hasn't shipped yet; you'll get an e-mail with tracking as soon as it does.")
        return ActionOutcome(" ".join(parts), "done", order.external_id, facts={"status": order.status})

    # -- writes: propose, then execute on yes ---------------------------------------------

    def propose(
        self,
        kind: ActionKind,
        tenant_id: str,
        customer_id: str,
        order: Order,
        now: datetime,
        *,
        new_address: str | None = None,
        conversation_id: str = "",
    ) -> ActionOutcome:
        if not self._eligible(kind, order, now):
            return self._not_eligible(kind, tenant_id, customer_id, order, conversation_id)
        if kind is ActionKind.change_address and not new_address:
            pending = PendingAction(kind=kind, order_id=order.external_id, awaiting="address")
            return ActionOutcome(
                f"Order {_label(order)} hasn't shipped yet, so I can change its delivery address. "
                "What is the new address (street, postcode, city, country)?",
                "needs_address",
                order.external_id,
                pending,
            )
        question = {
            ActionKind.start_return: f"Shall I start a return for order {_label(order)}? You'll get a free return "
            "label by e-mail.",
            ActionKind.cancel_order: f"Order {_label(order)} hasn't shipped yet. Shall I cancel it?",
            ActionKind.change_address: f"Shall I change the delivery address of order {order.external_id} to "
            f"\u201c{new_address}\u201d?",
        }[kind]
        self._audit(
            tenant_id, customer_id, f"action.{kind.value}.proposed", order.external_id, conversation=conversation_id
        )
        pending = PendingAction(kind=kind, order_id=order.external_id, new_address=new_address)
        return ActionOutcome(question + " Please reply yes or no.", "proposed", order.external_id, pending)

    def execute(
        self, pending: PendingAction, tenant_id: str, customer_id: str, now: datetime, conversation_id: str = ""
    ) -> ActionOutcome:
        with self.store.session(tenant_id) as s:
            order = s.scalars(
                select(Order).where(Order.external_id == pending.order_id, Order.customer_id == customer_id)
            ).first()
            if order is None:  # not this customer's order: never act on it
                audit(
                    s,
                    f"{self.actor}:{customer_id}",
                    f"action.{pending.kind.value}.refused",
                    pending.order_id or "",
                    customer_id=customer_id,
                    conversation=conversation_id,
                    why="not the customer's order",
                )
                return ActionOutcome("I can't find that order on your account.", "not_eligible")
            if not self._eligible(pending.kind, order, now):
                s.expunge(order)
                return self._not_eligible(pending.kind, tenant_id, customer_id, order, conversation_id)
            before = order.status
            if pending.kind is ActionKind.cancel_order:
                order.status = "cancelled"
                text = f"Done: order {order.external_id} is cancelled. You'll get a confirmation e-mail shortly."
            elif pending.kind is ActionKind.start_return:
                order.status = "return_requested"
                text = (
                    f"Done: I've started a return for order {order.external_id}. The free return label is on its "
                    "way to your e-mail; please drop the parcel off within 14 days."
                )
            else:
                order.delivery_address = {"text": pending.new_address or ""}
                text = f"Done: order {order.external_id} will be delivered to \u201c{pending.new_address}\u201d."
            audit(
                s,
                f"{self.actor}:{customer_id}",
                f"action.{pending.kind.value}",
                order.external_id,
                customer_id=customer_id,
                conversation=conversation_id,
                before=before,
                after=order.status,
                new_address=pending.new_address,
            )
            return ActionOutcome(text, "done", order.external_id)

    def decline(
        self, pending: PendingAction, tenant_id: str, customer_id: str, conversation_id: str = ""
    ) -> ActionOutcome:
        self._audit(
            tenant_id,
            customer_id,
            f"action.{pending.kind.value}.declined",
            pending.order_id or "",
            conversation=conversation_id,
        )
        return ActionOutcome("OK, I haven't changed anything. Is there anything else I can help with?", "declined")

    def open_ticket(
        self, tenant_id: str, customer_id: str | None, subject: str, summary: str, conversation_id: str = ""
    ) -> str:
        with self.store.session(tenant_id) as s:
            ticket = Ticket(
                customer_id=customer_id,
                subject=subject[:300],
                summary=summary,
                channel="chat",
                conversation_id=conversation_id or None,
            )
            s.add(ticket)
            s.flush()
            audit(
                s,
                self.actor,
                "ticket.open",
                ticket.external_id,
                customer_id=customer_id,
                conversation=conversation_id,
                subject=subject[:120],
            )
            return ticket.external_id
