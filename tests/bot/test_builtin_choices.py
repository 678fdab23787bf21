"""The builtin order actions list a customer's orders as choices from Core rows: only the
session tenant's orders of that customer, newest first, with the company's rules applied."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.actions.executors.builtin import BUILTINS
from core.db.schema import Order
from core.db.store import Store


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 'sb.db'}")
    s.create_all()
    for tenant in ("t-a", "t-b"):
        s.ensure_tenant(tenant)
    with s.session("t-a") as a:
        a.add(Order(external_id="A-1", customer_id="c1", status="delivered", placed_at="2026-10-01",
                    delivered_at="2026-10-03T10:00:00+00:00", items=[{"sku": "p1", "name": "Lamp"},
                                                                     {"sku": "ship", "name": "Shipping"}]))
        a.add(Order(external_id="A-2", customer_id="c1", status="processing", placed_at="2026-11-20",
                    items=[{"sku": "p2", "name": "Desk"}]))
        a.add(Order(external_id="A-3", customer_id="c2", status="processing", placed_at="2026-11-21"))
    with s.session("t-b") as b:  # the same customer id in another tenant
        b.add(Order(external_id="B-1", customer_id="c1", status="processing", placed_at="2026-11-25"))
    return s


def test_choices_are_the_tenants_orders_of_that_customer_newest_first(store: Store) -> None:
    with store.read_core("t-a") as core:
        choices = BUILTINS["order_lookup"].choices(core, "c1", {"hidden_item_skus": ["ship"]}, datetime.now(UTC))
    assert [c.value for c in choices] == ["A-2", "A-1"]
    assert choices[1].label == "A-1 (Lamp, delivered)"  # the shipping line is not a product
    with store.read_core("t-b") as core:
        assert [c.value for c in BUILTINS["order_lookup"].choices(core, "c1", {}, datetime.now(UTC))] == ["B-1"]


def test_the_rules_read_any_order_field_from_the_rows(store: Store) -> None:
    now = datetime(2026, 10, 20, tzinfo=UTC)
    rules = {"eligible_statuses": ["delivered"], "window_days": 30, "window_from": "delivered_at"}
    with store.read_core("t-a") as core:
        eligible = {c.value: c.eligible for c in BUILTINS["order_update"].choices(core, "c1", rules, now)}
    assert eligible == {"A-2": False, "A-1": True}
    later = datetime(2026, 11, 30, tzinfo=UTC)  # past the 30-day window from delivery
    with store.read_core("t-a") as core:
        assert not any(c.eligible for c in BUILTINS["order_update"].choices(core, "c1", rules, later))
    # An ORM session still works (the protocol takes either).
    with store.read_session("t-a") as s:
        assert [c.value for c in BUILTINS["order_lookup"].choices(s, "c1", {}, now)] == ["A-2", "A-1"]


@pytest.mark.parametrize("field", ["count", "index", "_mapping", "_fields", "t", "tuple", "no_such_field"])
def test_a_window_from_that_is_no_order_column_makes_no_order_eligible(store: Store, field: str) -> None:
    """A row's own attributes (``count``, ``_mapping`` …) are not order fields: as with the ORM
    objects before, an unknown ``window_from`` makes the orders ineligible, not the turn fail."""
    rules = {"window_days": 30, "window_from": field}
    now = datetime(2026, 10, 20, tzinfo=UTC)
    with store.read_core("t-a") as core:
        assert [c.eligible for c in BUILTINS["order_update"].choices(core, "c1", rules, now)] == [False, False]


@pytest.mark.parametrize("window_from", ["placed_at", "total", "items"])
def test_a_window_from_a_date_without_time_or_a_non_text_field_never_fails(store: Store, window_from: str) -> None:
    """A CRM export's date-only field counts from midnight UTC; a number or a list is no time
    (no order eligible), never an error."""
    rules = {"window_days": 30, "window_from": window_from}
    for now in (datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 20)):  # aware and naive clocks
        with store.read_core("t-a") as core:
            eligible = {c.value: c.eligible for c in BUILTINS["order_update"].choices(core, "c1", rules, now)}
        # A-1 was placed on 2026-10-01 (19 days before), A-2 on 2026-11-20 (in the future: within the window).
        assert eligible == ({"A-1": True, "A-2": True} if window_from == "placed_at" else {"A-1": False, "A-2": False})
