"""A builtin write end to end through ``ActionRunner`` (and its ``ActionExecution``): the demo
shop's own ``cancel_order`` declaration over its CRM orders in a real SQLite Store, without the
bot around it. The demo orders are imported into two tenants (the same customer and order ids
in both), so every check also says which tenant's rows it reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.actions import ActionContext, ActionOutcome, ActionRunner, PendingAction
from core.db.schema import AuditEntry, Order
from core.db.store import Store
from core.tenancy.actions import ActionSpec
from core.tenancy.load import load_tenant_file
from knowledge.crm import CrmImporter
from tests.conftest import DEMO_DIR, OPEN_HOURS, TENANT

OTHER = "other-shop"  # a second company holding a copy of the same CRM export
LEDGER = "idempotency.action"


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 'sb.db'}")
    s.create_all()
    importer = CrmImporter(s, redact=lambda text: text)
    for tenant in (TENANT, OTHER):
        s.ensure_tenant(tenant)
        importer.import_folder(tenant, DEMO_DIR / "crm")
    with s.session(OTHER) as o:  # an order that exists in the other tenant only
        o.add(Order(external_id="ORD-20001", customer_id="cus_009", status="processing", placed_at="2026-11-19"))
    return s


@pytest.fixture()
def cancel() -> ActionSpec:
    return next(a for a in load_tenant_file(DEMO_DIR / "tenant.yaml").actions if a.name == "cancel_order")


def _ctx(customer_id: str, tenant: str = TENANT) -> ActionContext:
    return ActionContext(tenant, customer_id, "conv-1", OPEN_HOURS, timezone="Europe/Berlin")


def _status(store: Store, tenant: str, order_id: str) -> str:
    with store.read_session(tenant) as s:
        return s.scalars(select(Order.status).where(Order.external_id == order_id)).one()


def _audit(store: Store, tenant: str) -> list[tuple[str, str, str, dict[str, object]]]:
    with store.read_session(tenant) as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(a.actor, a.action, a.target, dict(a.detail)) for a in rows]


def _yes(runner: ActionRunner, ctx: ActionContext, spec: ActionSpec, pending: PendingAction) -> ActionOutcome:
    out = runner.resume(ctx, spec, pending, "yes", yes=True, no=False)
    assert out is not None
    return out


def test_a_cancel_is_proposed_runs_once_on_yes_and_is_audited(store: Store, cancel: ActionSpec) -> None:
    runner = ActionRunner(store, redact=lambda text: text)
    ctx = _ctx("cus_009")

    proposed = runner.start(ctx, cancel, "please cancel my sleeping bag order")
    assert proposed.status == "proposed" and proposed.target == "ORD-10043"
    assert proposed.text.startswith("Order ORD-10043 (Larkspur Alpine down sleeping bag, processing) hasn't shipped")
    pending = proposed.pending
    assert pending is not None and pending.awaiting == "confirmation" and pending.key
    assert _status(store, TENANT, "ORD-10043") == "processing", "nothing changes before the yes"

    done = _yes(runner, ctx, cancel, pending)
    assert done.status == "executed" and not done.replayed
    assert done.result == {"id": "ORD-10043", "status": "cancelled"}
    assert done.text.startswith("Done: order ORD-10043 is cancelled.")
    assert _status(store, TENANT, "ORD-10043") == "cancelled"
    assert _status(store, OTHER, "ORD-10043") == "processing", "the other tenant's copy is untouched"

    entries = _audit(store, TENANT)
    assert [(actor, action, target) for actor, action, target, _ in entries] == [
        ("bot:cus_009", "action.cancel_order.proposed", "ORD-10043"),
        ("bot", LEDGER, pending.key),  # the key is claimed before the write (bot.actions.ledger)
        ("bot:cus_009", "action.cancel_order", "ORD-10043"),
    ]
    detail = entries[2][3]
    assert detail["customer_id"] == "cus_009" and detail["conversation"] == "conv-1"
    assert detail["idempotency_key"] == pending.key == entries[0][3]["idempotency_key"]
    assert (detail["before"], detail["after"]) == ("processing", "cancelled")
    assert detail["args"] == {"order_id": "ORD-10043"}
    assert entries[1][3]["record"] == "ORD-10043" and entries[1][3]["text"] == done.text
    assert "state" not in entries[1][3], "the claim was replaced by the outcome"
    assert _audit(store, OTHER) == []

    again = _yes(runner, ctx, cancel, pending)  # the same yes delivered twice
    assert again.status == "executed" and again.replayed and again.text == done.text
    assert len(_audit(store, TENANT)) == 3, "a replayed yes writes nothing"


def test_another_customers_order_cannot_be_cancelled(store: Store, cancel: ActionSpec) -> None:
    """ORD-10041 is cus_003's: named in cus_009's message it is not found; put into cus_009's
    pending action (memory from elsewhere), the yes is refused and nothing is written."""
    runner = ActionRunner(store, redact=lambda text: text)
    ctx = _ctx("cus_009")

    named = runner.start(ctx, cancel, "cancel order ORD-10041 please")
    assert named.status == "refused" and "ORD-10041" not in named.text and "Ridge" not in named.text

    forged = PendingAction(action="cancel_order", args={"order_id": "ORD-10041"}, awaiting="confirmation", key="k1")
    out = _yes(runner, ctx, cancel, forged)
    assert out.status == "refused" and out.text == "I can't find that on your account."
    assert _status(store, TENANT, "ORD-10041") == "processing"
    actions = [action for _, action, _, _ in _audit(store, TENANT)]
    assert actions == ["action.cancel_order.refused", "action.cancel_order.refused"]


def test_an_order_of_another_tenant_cannot_be_cancelled(store: Store, cancel: ActionSpec) -> None:
    """ORD-20001 exists for cus_009 in the other tenant only: a Larkspur session never finds it."""
    runner = ActionRunner(store, redact=lambda text: text)
    forged = PendingAction(action="cancel_order", args={"order_id": "ORD-20001"}, awaiting="confirmation", key="k2")
    out = _yes(runner, _ctx("cus_009"), cancel, forged)
    assert out.status == "refused"
    assert _status(store, OTHER, "ORD-20001") == "processing"
    assert [action for _, action, _, _ in _audit(store, TENANT)] == ["action.cancel_order.refused"]
    assert _audit(store, OTHER) == []


def test_the_rule_is_checked_again_at_the_yes(store: Store, cancel: ActionSpec) -> None:
    """The order ships between the proposal and the yes: the cancel is refused with the
    company's rule, and the shipped order stays as it is."""
    runner = ActionRunner(store, redact=lambda text: text)
    ctx = _ctx("cus_009")
    proposed = runner.start(ctx, cancel, "please cancel my sleeping bag order")
    assert proposed.pending is not None
    with store.session(TENANT) as s:
        s.scalars(select(Order).where(Order.external_id == "ORD-10043")).one().status = "shipped"

    out = _yes(runner, ctx, cancel, proposed.pending)
    assert out.status == "refused" and "orders can only be cancelled before they ship" in out.text
    assert _status(store, TENANT, "ORD-10043") == "shipped"
    assert [action for _, action, _, _ in _audit(store, TENANT)] == [
        "action.cancel_order.proposed",
        "action.cancel_order.refused",
    ]
