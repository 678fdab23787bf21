"""Right to erasure: deleting a customer removes every row that holds their personal data and
anonymises the audit trail of what was done for them.

Deleted: their conversations and messages, the idempotency keys of those conversations'
messages, handoffs (with their briefs), copilot feedback and CSAT ratings of those
conversations, CRM records (customer, orders, tickets, notes), KB drafts made from their
conversations and the articles (and so the vectors) published from those drafts, and the
action ledger's entries (``idempotency.action``, ``bot.actions.ledger``) whose idempotency key
belongs to one of their conversations (a key is ``<conversation id>:<action>:<hex>``,
``bot.actions.runner``; with the conversation gone no yes can arrive for it again).

Anonymised (``anonymise_audit``): every other audit entry about them — written by them
(actor ``customer:<id>``), for them (actor ``<role>:<id>``, the action executor's), naming
them in its detail (``customer_id``) or naming one of their conversations, orders or tickets
(target, or detail ``conversation``). Such an entry keeps its action, its time, a staff actor
and the categorical detail fields of ``KEPT_DETAIL``; the customer's actor becomes
``<role>:erased``, the target ``erased`` and every other detail field goes (arguments,
results, reply texts, before/after values, idempotency keys, failure texts, ticket subjects).

One ``ErasureEntry`` with a hash of tenant and id and the counts is written, so the erasure
itself is on record. Every query runs in a tenant session: another tenant's customer with the
same id is untouched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.db.schema import (
    LEDGER_ACTION,
    AuditEntry,
    Conversation,
    CrmNote,
    CsatResponse,
    Customer,
    ErasureEntry,
    Feedback,
    Handoff,
    IdempotencyKey,
    KbDraft,
    Message,
    Order,
    Ticket,
)
from core.db.store import Store
from core.errors import NotFound
from knowledge.kb import KnowledgeBase
from knowledge.numbering import forget, forget_unfinished
from server.auth import Role

ERASED = "erased"
ERASED_ACTOR = f"customer:{ERASED}"

# Detail fields an anonymised audit entry keeps: categorical values written by our code, never
# the customer's words or records (bot/guardrails.py ScreenResult.audit_detail: score, reasons;
# server/service.py handoff: reason, queue; bot/actions/execute.py: executor, failure kind).
KEPT_DETAIL = frozenset({"reason", "reasons", "queue", "score", "executor", "failure"})

# Conversation ids per statement when matching idempotency keys by their prefix (one LIKE each).
PREFIXES_PER_STATEMENT = 100


def subject_hash(tenant_id: str, customer_id: str) -> str:
    return hashlib.sha256(f"{tenant_id}\x00{customer_id}".encode()).hexdigest()


def _chunks(items: Sequence[str], size: int = PREFIXES_PER_STATEMENT) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _starts_with(column: InstrumentedAttribute[str], prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, letter case included: SQLite's LIKE ignores the case
    of ASCII letters (an id ``CUS_A`` matched ``cus_a``), so the LIKE, which narrows, is
    checked by an exact comparison of the column's first characters."""
    return and_(column.startswith(prefix, autoescape=True), func.substr(column, 1, len(prefix)) == prefix)


def _ends_with(column: InstrumentedAttribute[str], suffix: str) -> ColumnElement[bool]:
    """``column`` ends with ``suffix``, letter case included (see ``_starts_with``)."""
    start = func.length(column) - len(suffix) + 1
    return and_(column.endswith(suffix, autoescape=True), func.substr(column, start) == suffix)


def _key_of_any(conv_ids: Sequence[str]) -> ColumnElement[bool]:
    """An audit target that is an idempotency key of one of ``conv_ids`` (``<id>:…``)."""
    return or_(*(_starts_with(AuditEntry.target, f"{c}:") for c in conv_ids))


@dataclass(frozen=True)
class Subject:
    """The erased customer and the ids of their records, read before anything is deleted."""

    customer_id: str
    conversations: list[str]
    orders: list[str]
    tickets: list[str]

    def names(self, actor: str) -> bool:
        """``actor`` is the customer (``customer:<id>``) or acts for them (``<role>:<id>``), not
        a staff API key whose last four characters happen to be the customer's id."""
        return actor.endswith(f":{self.customer_id}") and actor not in self.staff()

    def staff(self) -> list[str]:
        """The staff actors (``server.auth.Principal.actor``: ``<role>:<last 4 of the key>``)
        that read like an actor for the customer."""
        return [f"{role.value}:{self.customer_id}" for role in Role if role is not Role.customer]

    def anonymous(self, actor: str) -> str:
        return actor[: -len(self.customer_id)] + ERASED if self.names(actor) else actor


def anonymise_audit(s: Session, subject: Subject) -> int:
    """Rewrite the audit entries about ``subject`` (see the module docstring) in session ``s``;
    returns how many. Ledger entries (``LEDGER_ACTION``) are not touched: delete them first."""
    cid = subject.customer_id
    records = [*subject.conversations, *subject.orders, *subject.tickets, cid]
    about = [
        and_(_ends_with(AuditEntry.actor, f":{cid}"), AuditEntry.actor.not_in(subject.staff())),
        AuditEntry.target.in_(records),
        AuditEntry.detail["customer_id"].as_string() == cid,
    ]
    if subject.conversations:
        about.append(AuditEntry.detail["conversation"].as_string().in_(subject.conversations))
    rows = list(s.scalars(select(AuditEntry).where(AuditEntry.action != LEDGER_ACTION, or_(*about))))
    for entry in rows:
        entry.actor = subject.anonymous(entry.actor)
        entry.target = ERASED if entry.target else ""
        entry.detail = {**_kept(entry.detail), ERASED: True}
    return len(rows)


def _kept(detail: dict[str, Any] | None) -> dict[str, Any]:
    """The categorical fields of ``detail`` (``KEPT_DETAIL``) holding plain values."""

    def plain(v: Any) -> bool:
        return (
            v is None
            or isinstance(v, bool | int | float | str)
            or (isinstance(v, list) and all(isinstance(x, str | int | float) for x in v))
        )

    return {k: v for k, v in (detail or {}).items() if k in KEPT_DETAIL and plain(v)}


@dataclass
class Erasure:
    store: Store
    kb: KnowledgeBase

    def erase_customer(self, tenant_id: str, customer_id: str, actor: str) -> tuple[str, dict[str, int]]:
        """Erase one customer of one tenant; returns (subject hash, rows per kind: deleted, or
        ``audit_entries_anonymised``, plus ``articles`` deleted with their vectors)."""
        counts: dict[str, int] = {}
        with self.store.session(tenant_id) as s:
            conv_ids = list(s.scalars(select(Conversation.id).where(Conversation.customer_id == customer_id)))
            order_ids = list(s.scalars(select(Order.external_id).where(Order.customer_id == customer_id)))
            tickets = (
                (Ticket.customer_id == customer_id)
                | Ticket.conversation_id.in_(conv_ids)
                | Ticket.order_id.in_(order_ids)
            )
            subject = Subject(
                customer_id, conv_ids, order_ids, list(s.scalars(select(Ticket.external_id).where(tickets)))
            )
            drafts = list(
                s.scalars(
                    select(KbDraft.id).where(
                        (KbDraft.customer_id == customer_id) | KbDraft.conversation_id.in_(conv_ids)
                    )
                )
            )

            def gone(kind: str, stmt: object) -> None:
                counts[kind] = counts.get(kind, 0) + int(s.execute(stmt).rowcount or 0)  # type: ignore[call-overload]

            gone("messages", delete(Message).where(Message.conversation_id.in_(conv_ids)))
            gone("idempotency_keys", delete(IdempotencyKey).where(IdempotencyKey.conversation_id.in_(conv_ids)))
            gone("handoffs", delete(Handoff).where(Handoff.conversation_id.in_(conv_ids)))
            gone("feedback", delete(Feedback).where(Feedback.conversation_id.in_(conv_ids)))
            gone("csat", delete(CsatResponse).where(CsatResponse.conversation_id.in_(conv_ids)))
            gone("tickets", delete(Ticket).where(tickets))
            gone("conversations", delete(Conversation).where(Conversation.id.in_(conv_ids)))
            gone("notes", delete(CrmNote).where(CrmNote.customer_id == customer_id))
            gone("orders", delete(Order).where(Order.customer_id == customer_id))
            gone("customers", delete(Customer).where(Customer.external_id == customer_id))
            gone("drafts", delete(KbDraft).where(KbDraft.id.in_(drafts)))
            counts["ledger_entries"] = 0
            for part in _chunks(conv_ids):
                gone("ledger_entries", delete(AuditEntry).where(AuditEntry.action == LEDGER_ACTION, _key_of_any(part)))
            counts["audit_entries_anonymised"] = anonymise_audit(s, subject)
        counts["articles"] = self._delete_published_drafts(tenant_id, drafts)
        digest = subject_hash(tenant_id, customer_id)
        with self.store.session(tenant_id) as s:
            s.add(ErasureEntry(subject_hash=digest, counts=counts, actor=actor))
            s.add(AuditEntry(actor=actor, action="customer.erase", target=digest[:16], detail=counts))
        return digest, counts

    def _delete_published_drafts(self, tenant_id: str, draft_ids: list[str]) -> int:
        """Articles published from the customer's drafts go too, with their vectors."""
        if not draft_ids:
            return 0
        sources = {f"kb-draft:{d}" for d in draft_ids}
        deleted: list[str] = []
        for info in self.kb.list_articles(tenant_id):
            if info.source in sources:
                try:
                    self.kb.delete(tenant_id, info.id)
                    deleted.append(info.id)
                except NotFound:
                    continue
        # Their ids (a slug of the draft's title) stay in no tombstone; the floor keeps the numbers.
        # ... nor does a version row of a load that died before its article row was written.
        with self.store.session(tenant_id) as s:
            forget(s, deleted)
            forget_unfinished(s)
        return len(deleted)
