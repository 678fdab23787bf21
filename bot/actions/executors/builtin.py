"""``builtin`` executors: actions over the Store's own records (the ``orders`` table), with the
company's rules as ``options`` in its configuration — never constants here.

- ``order_lookup`` (read): one of the customer's orders, its status, shipping and delivery.
  Options: ``preferred_statuses`` (the orders "where is my order?" is most likely about),
  ``status_notes`` (status → a sentence added to the reply), ``hidden_item_skus`` (SKU
  prefixes of lines that are not products, e.g. shipping).
- ``order_update`` (write): change one order. Options: ``eligible_statuses`` (the statuses in
  which the change is allowed), ``window_days`` + ``window_from`` (an order field such as
  ``delivered_at``: allowed only that many days after it), ``new_status`` (the status it
  gets) and/or ``address_param`` (the parameter holding a new delivery address),
  ``hidden_item_skus``.

Each builtin lists the customer's orders as choices (``Choice.eligible`` per the rules) and
runs inside the runner's database transaction, so the change, its audit entry and its
idempotency record commit together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from bot.actions.choices import Choice
from bot.actions.errors import ActionRefused
from bot.actions.executors.base import ActionCall, ActionResult
from bot.actions.values import words_of
from core.clock import assume_utc
from core.db.schema import Order
from core.db.store import CoreSession, execute_scoped

__all__ = ["BUILTINS", "BuiltinAction"]


# An order as the rules read it: the ORM object in ``run``, a Core row of every column in
# ``choices`` (attribute access by column name either way).
OrderLike = Order | Row[Any]
_orders_table = Order.__table__


class BuiltinAction(Protocol):
    def choices(
        self, s: Session | CoreSession, customer_id: str, options: Mapping[str, Any], now: datetime
    ) -> list[Choice]: ...

    def run(self, s: Session, call: ActionCall, record: str, options: Mapping[str, Any]) -> ActionResult: ...


def _parse_time(value: object) -> datetime | None:
    """An order field as a time: an ISO date or date-time text, read as UTC when it names no
    zone ("2026-10-01"); None for anything else (an empty field, a number, a list)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return assume_utc(parsed)


def _field(o: OrderLike, name: str) -> Any:
    """The order's column ``name``; None for a name that is no column of ``orders`` (a Core row
    has attributes of its own, ``count``, ``index``, ``_mapping`` …, that are not order fields)."""
    return getattr(o, name) if name in _orders_table.c else None


def _items(o: OrderLike, options: Mapping[str, Any]) -> str:
    hidden = tuple(str(x) for x in options.get("hidden_item_skus", []) or [])
    names = [
        str(i.get("name", i.get("sku", "")))
        for i in o.items
        if isinstance(i, dict) and not (hidden and str(i.get("sku", "")).startswith(hidden))
    ]
    return ", ".join(n for n in names if n)


def _label(o: OrderLike, options: Mapping[str, Any]) -> str:
    items = _items(o, options)
    status = o.status.replace("_", " ")
    return f"{o.external_id} ({items}, {status})" if items else f"{o.external_id} ({status})"


# Built once: a request for an order lists the customer's orders as choices on every such turn,
# and Core rows cost a fraction of ORM objects (py-spy: the ORM's row loading was the largest
# single cost of an order look-up turn). The tenant is an explicit filter: no ORM session here.
_CUSTOMER_ORDERS = (
    select(_orders_table)
    .where(
        _orders_table.c.tenant_id == bindparam("tenant_id"),
        _orders_table.c.customer_id == bindparam("customer_id"),
    )
    .order_by(_orders_table.c.placed_at.desc())
)


def _orders(s: Session | CoreSession, customer_id: str) -> list[Row[Any]]:
    """The customer's orders of the session's tenant, newest first (every column)."""
    return list(execute_scoped(s, _CUSTOMER_ORDERS, customer_id=customer_id))


def _own_order(s: Session, call: ActionCall, record: str) -> Order:
    """The order, only if it is the session customer's."""
    order = s.scalars(
        select(Order).where(Order.external_id == record, Order.customer_id == (call.customer_id or ""))
    ).first()
    if order is None:
        raise ActionRefused("I can't find that on your account.", record)
    return order


def _choices(
    s: Session | CoreSession, customer_id: str, options: Mapping[str, Any], eligible: Callable[[OrderLike], bool]
) -> list[Choice]:
    return [
        Choice(
            o.external_id,
            _label(o, options),
            frozenset(words_of(_items(o, options))),
            eligible(o),
            {"status": o.status},
        )
        for o in _orders(s, customer_id)
    ]


@dataclass(frozen=True)
class OrderLookup:
    writes: bool = False

    def choices(
        self, s: Session | CoreSession, customer_id: str, options: Mapping[str, Any], now: datetime
    ) -> list[Choice]:
        preferred = set(options.get("preferred_statuses", []) or [])
        return _choices(s, customer_id, options, lambda o: not preferred or o.status in preferred)

    def run(self, s: Session, call: ActionCall, record: str, options: Mapping[str, Any]) -> ActionResult:
        o = _own_order(s, call, record)
        items = _items(o, options)
        status = o.status.replace("_", " ")
        parts = [f"Your order {o.external_id}" + (f" ({items})" if items else "") + f" is {status}."]
        if o.shipped_at and not o.delivered_at:
            parts.append(
                f"It shipped on {o.shipped_at[:10]}"
                + (f" with {o.carrier}" if o.carrier else "")
                + (f", tracking number {o.tracking}." if o.tracking else ".")
            )
        if o.delivered_at:
            parts.append(f"It was delivered on {o.delivered_at[:10]}.")
        note = (options.get("status_notes") or {}).get(o.status)
        if note:
            parts.append(str(note))
        data = {
            "id": o.external_id,
            "status": o.status,
            "items": items,
            "carrier": o.carrier,
            "tracking": o.tracking,
            "shipped_at": o.shipped_at,
            "delivered_at": o.delivered_at,
        }
        return ActionResult(data=data, text=" ".join(parts), target=o.external_id, labels={})


@dataclass(frozen=True)
class OrderUpdate:
    writes: bool = True

    @staticmethod
    def allowed(o: OrderLike, options: Mapping[str, Any], now: datetime) -> bool:
        statuses = set(options.get("eligible_statuses", []) or [])
        if statuses and o.status not in statuses:
            return False
        days = options.get("window_days")
        if days is not None:
            start = _parse_time(_field(o, str(options.get("window_from", "delivered_at"))))
            if start is None or assume_utc(now) - start > timedelta(days=float(days)):
                return False
        return True

    def choices(
        self, s: Session | CoreSession, customer_id: str, options: Mapping[str, Any], now: datetime
    ) -> list[Choice]:
        return _choices(s, customer_id, options, lambda o: self.allowed(o, options, now))

    def run(self, s: Session, call: ActionCall, record: str, options: Mapping[str, Any]) -> ActionResult:
        o = _own_order(s, call, record)
        if not self.allowed(o, options, call.now):
            raise ActionRefused("", o.external_id)  # the runner words it with the action's eligibility rule
        before = o.status
        if options.get("new_status"):
            o.status = str(options["new_status"])
        address_param = options.get("address_param")
        if address_param:
            o.delivery_address = {"text": str(call.args.get(str(address_param)) or "")}
        s.flush()
        data = {"id": o.external_id, "status": o.status}
        audit = {"before": before, "after": o.status}
        if address_param:
            audit["new_address"] = o.delivery_address.get("text", "")
        return ActionResult(data=data, target=o.external_id, audit=audit)


BUILTINS: dict[str, BuiltinAction] = {"order_lookup": OrderLookup(), "order_update": OrderUpdate()}
