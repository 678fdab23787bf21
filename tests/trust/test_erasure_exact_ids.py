"""Erasure matches the erased customer's ids exactly: letter case included (SQLite's LIKE ignores
the case of ASCII letters, and CRM ids such as ``cus_Ab`` / ``cus_aB`` differ by case only), one id
a prefix of another's, LIKE wildcards in an id, a staff actor (``agent:<last 4 of its key>``) that
ends like the id, and another tenant's rows with the same ids.
``scenario_ids_matched_exactly`` runs on PostgreSQL too (tests/integration/test_erasure_postgres.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from core.db.schema import LEDGER_ACTION, AuditEntry, Conversation, Customer, Tenant
from core.db.store import Store
from server.erasure import Erasure

ERASED_ID = "cus_a"
# Ids whose entries must stay as they are: another case, a longer id it prefixes, a LIKE pattern.
OTHERS = ("CUS_A", "Cus_A", "cus_a0", "cus_%", "cus__")


def _history(store: Store, tenant: str) -> None:
    with store.session(tenant) as s:
        for cid in (ERASED_ID, *OTHERS):
            conv = f"conv_{cid}"  # conversation ids are unique across tenants: t2's keys only look the same
            s.add(Customer(external_id=cid, name=f"name of {cid}"))
            s.add(Conversation(id=conv if tenant == "t1" else f"{tenant}_{conv}", customer_id=cid))
            s.add(AuditEntry(actor=f"customer:{cid}", action="message", target=conv, detail={"text": f"hi {cid}"}))
            s.add(AuditEntry(actor=f"bot:{cid}", action="action.cancel_order", target=f"ord_{cid}", detail={"a": 1}))
            s.add(AuditEntry(actor=f"bot:{cid}", action=LEDGER_ACTION, target=f"{conv}:cancel:1", detail={"r": cid}))


def _rows(store: Store, tenant: str) -> list[tuple[Any, ...]]:
    with store.session(tenant) as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action != "customer.erase").order_by(AuditEntry.id))
        return [(e.actor, e.action, e.target, e.detail) for e in entries]


def scenario_ids_matched_exactly(store: Store) -> None:
    with store.engine.begin() as c:
        c.execute(insert(Tenant), [{"id": t, "name": t, "config": {}} for t in ("t1", "t2")])
    _history(store, "t1")
    with store.session("t1") as s:  # a staff API key ending in the customer's id (Principal.actor)
        s.add(AuditEntry(actor=f"agent:{ERASED_ID}", action="conversation.claim", target="conv_CUS_A", detail={"q": 1}))
    _history(store, "t2")
    before = {t: _rows(store, t) for t in ("t1", "t2")}

    _, counts = Erasure(store, None).erase_customer("t1", ERASED_ID, "admin:ops")  # type: ignore[arg-type]

    assert (counts["ledger_entries"], counts["audit_entries_anonymised"]) == (1, 2)
    after = _rows(store, "t1")
    kept = [row for row in before["t1"] if row[0] not in (f"customer:{ERASED_ID}", f"bot:{ERASED_ID}")]
    assert [row for row in after if "erased" not in row[0]] == kept  # the others' entries, unchanged
    assert _rows(store, "t2") == before["t2"]  # another tenant's customer with the same id


def test_erasure_matches_ids_exactly(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'erase.db'}")
    store.create_all()
    scenario_ids_matched_exactly(store)
