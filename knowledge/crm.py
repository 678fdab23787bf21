"""CRM history: import customers, orders, tickets, notes and past conversations from
JSON or CSV, and read the facts about one customer (and nobody else)."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.db.schema import Conversation, CrmNote, Customer, Message, Order, Ticket
from core.db.store import CoreSession, Store, session_connection, session_tenant
from core.errors import InvalidInput, NotFound
from core.types import CustomerFacts, OrderFact, TicketFact

_FILES = ("customers", "orders", "tickets", "notes", "conversations")


@dataclass
class CrmImportReport:
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, list):
                raise InvalidInput(f"{path.name}: expected a JSON list of records")
            return [dict(r) for r in data]
        with path.open(newline="", encoding="utf-8") as fh:
            return [dict(r) for r in csv.DictReader(fh)]
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"{path.name}: cannot be parsed: {exc}") from exc


def _find(folder: Path, stem: str) -> Path | None:
    for ext in (".json", ".csv"):
        p = folder / f"{stem}{ext}"
        if p.is_file():
            return p
    return None


class CrmImporter:
    """Upserts CRM records by external id; importing the same folder twice changes nothing."""

    def __init__(self, store: Store, redact: Callable[[str], str] | None = None) -> None:
        self.store = store
        # trust: free text (ticket subjects and summaries, notes, past messages) is redacted
        # before it is stored; structured fields (ids, tracking numbers) are kept.
        if redact is None:
            from core.redaction import redact as default_redact

            redact = default_redact
        self.redact = redact

    def import_folder(self, tenant_id: str, folder: Path) -> CrmImportReport:
        report = CrmImportReport()
        with self.store.session(tenant_id) as s:
            for stem in _FILES:
                path = _find(folder, stem)
                if path is None:
                    continue
                rows = _read_rows(path)
                handler = getattr(self, f"_import_{stem}")
                report.counts[stem] = handler(s, rows)
        return report

    @staticmethod
    def _upsert(s: Session, model: type[Any], external_id: str, values: dict[str, Any]) -> None:
        row = s.scalars(select(model).where(model.external_id == external_id)).first()
        if row is None:
            s.add(model(external_id=external_id, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)

    def _import_customers(self, s: Session, rows: list[dict[str, Any]]) -> int:
        for r in rows:
            self._upsert(
                s,
                Customer,
                str(r["id"]),
                {
                    "name": str(r.get("name", "")),
                    "email": str(r.get("email", "")),
                    "phone": str(r.get("phone", "")),
                    "language": str(r.get("language", "en")),
                    "tier": str(r.get("tier", "standard")),
                    "address": r.get("address") or {},
                },
            )
        return len(rows)

    def _import_orders(self, s: Session, rows: list[dict[str, Any]]) -> int:
        for r in rows:
            self._upsert(
                s,
                Order,
                str(r["id"]),
                {
                    "customer_id": str(r["customer_id"]),
                    "status": str(r.get("status", "processing")),
                    "placed_at": str(r.get("placed_at", "")),
                    "shipped_at": r.get("shipped_at"),
                    "delivered_at": r.get("delivered_at"),
                    "carrier": r.get("carrier"),
                    "tracking": r.get("tracking"),
                    "items": r.get("items") or [],
                    "total": float(r.get("total", 0) or 0),
                    "currency": str(r.get("currency", "")),
                    "delivery_address": r.get("delivery_address") or {},
                },
            )
        return len(rows)

    def _import_tickets(self, s: Session, rows: list[dict[str, Any]]) -> int:
        for r in rows:
            self._upsert(
                s,
                Ticket,
                str(r["id"]),
                {
                    "customer_id": r.get("customer_id"),
                    "subject": self.redact(str(r.get("subject", ""))),
                    "status": str(r.get("status", "open")),
                    "channel": str(r.get("channel", "chat")),
                    "created_at": str(r.get("created_at", "")),
                    "summary": self.redact(str(r.get("summary", ""))),
                    "order_id": r.get("order_id"),
                },
            )
        return len(rows)

    def _import_notes(self, s: Session, rows: list[dict[str, Any]]) -> int:
        for r in rows:
            self._upsert(
                s,
                CrmNote,
                str(r["id"]),
                {
                    "customer_id": str(r["customer_id"]),
                    "author": str(r.get("author", "")),
                    "text": self.redact(str(r.get("text", ""))),
                    "created_at": str(r.get("created_at", "")),
                },
            )
        return len(rows)

    def _import_conversations(self, s: Session, rows: list[dict[str, Any]]) -> int:
        tenant = str(s.info.get("tenant_id", ""))
        for r in rows:
            # Conversation ids are global keys: derive ours from (tenant, CRM id) so two tenants
            # may import the same CRM ids, and re-importing finds the row again.
            conv_id = hashlib.sha256(f"{tenant}\x00{r['id']}".encode()).hexdigest()[:32]
            if s.scalars(select(Conversation).where(Conversation.id == conv_id)).first() is not None:
                continue
            conv = Conversation(
                id=conv_id, customer_id=r.get("customer_id"), state="closed", memory={"crm_id": str(r["id"])}
            )
            s.add(conv)
            s.flush()
            for seq, m in enumerate(r.get("messages") or [], start=1):
                s.add(
                    Message(
                        conversation_id=conv_id,
                        seq=seq,
                        author=str(m.get("role", "customer")),
                        text=self.redact(str(m.get("text", ""))),
                        meta={"imported": True},
                    )
                )
        return len(rows)


def _of_customer(table: Any, columns: str, order_by: str) -> Any:
    """A customer's rows of ``table`` (tenant and customer as parameters), newest first
    (``order_by`` descending), with the ``columns`` named (space-separated) only."""
    return (
        select(*(table.c[name] for name in columns.split()))
        .where(table.c.tenant_id == bindparam("tenant_id"), table.c.customer_id == bindparam("customer_id"))
        .order_by(table.c[order_by].desc())
        .limit(bindparam("limit"))
    )


# Built once: a bot turn reads a signed-in customer's record every time (Core rows: an ORM
# query of the four would cost about five times as much), and only the columns the facts
# show (not the addresses, JSON parsed for nothing on every turn).
_customers = Customer.__table__
_CUSTOMER = select(
    _customers.c.external_id, _customers.c.name, _customers.c.tier, _customers.c.language, _customers.c.attributes
).where(_customers.c.tenant_id == bindparam("tenant_id"), _customers.c.external_id == bindparam("customer_id"))
_ORDERS = _of_customer(
    Order.__table__,
    "external_id status placed_at total currency items carrier tracking shipped_at delivered_at",
    "placed_at",
)
_TICKETS = _of_customer(Ticket.__table__, "external_id subject status created_at summary", "created_at")
_NOTES = _of_customer(CrmNote.__table__, "text", "created_at")


def customer_facts(
    session: Session | CoreSession, customer_id: str, *, max_orders: int = 5, max_tickets: int = 5
) -> CustomerFacts:
    """Facts about one customer. The session is tenant-scoped (its tenant filters every read
    here), so another tenant's customer with the same id is invisible."""
    key = {"tenant_id": session_tenant(session), "customer_id": customer_id}
    conn = session_connection(session)
    cust = conn.execute(_CUSTOMER, key).first()
    if cust is None:
        raise NotFound(f"No customer {customer_id!r}")
    orders = conn.execute(_ORDERS, {**key, "limit": max_orders})
    tickets = conn.execute(_TICKETS, {**key, "limit": max_tickets})
    notes = conn.execute(_NOTES, {**key, "limit": 5})
    return CustomerFacts(
        customer_id=cust.external_id,
        name=cust.name,
        tier=cust.tier,
        language=cust.language,
        orders=[
            OrderFact(
                id=o.external_id,
                status=o.status,
                placed_at=o.placed_at,
                total=o.total,
                currency=o.currency,
                items=[str(i.get("name", i.get("sku", ""))) for i in o.items],
                carrier=o.carrier,
                tracking=o.tracking,
                shipped_at=o.shipped_at,
                delivered_at=o.delivered_at,
            )
            for o in orders
        ],
        tickets=[
            TicketFact(id=t.external_id, subject=t.subject, status=t.status, created_at=t.created_at, summary=t.summary)
            for t in tickets
        ],
        notes=[n.text for n in notes],
        attributes=dict(cust.attributes or {}),
    )
