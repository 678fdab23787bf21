"""Right to erasure: deleting a customer removes their conversations and messages,
handoffs, feedback, CRM records (customer, orders, tickets, notes), KB drafts made from
their conversations and the articles (and so the vectors) published from those drafts;
audit entries keep their action but lose the customer's name. One ``ErasureEntry`` with a
hash of the id and the counts is written, so the erasure itself is on record.

Every query runs in a tenant session: another tenant's customer with the same id is
untouched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from core.db.schema import (
    AuditEntry,
    Conversation,
    CrmNote,
    Customer,
    ErasureEntry,
    Feedback,
    Handoff,
    KbDraft,
    Message,
    Order,
    Ticket,
)
from core.db.store import Store
from core.errors import NotFound
from knowledge.kb import KnowledgeBase
from knowledge.numbering import forget, forget_unfinished

ERASED_ACTOR = "customer:erased"


def subject_hash(tenant_id: str, customer_id: str) -> str:
    return hashlib.sha256(f"{tenant_id}\x00{customer_id}".encode()).hexdigest()


@dataclass
class Erasure:
    store: Store
    kb: KnowledgeBase

    def erase_customer(self, tenant_id: str, customer_id: str, actor: str) -> tuple[str, dict[str, int]]:
        """Erase one customer of one tenant; returns (subject hash, counts per kind)."""
        counts: dict[str, int] = {}
        with self.store.session(tenant_id) as s:
            conv_ids = list(s.scalars(select(Conversation.id).where(Conversation.customer_id == customer_id)))
            drafts = list(
                s.scalars(
                    select(KbDraft.id).where(
                        (KbDraft.customer_id == customer_id) | KbDraft.conversation_id.in_(conv_ids)
                    )
                )
            )

            def gone(kind: str, stmt: object) -> None:
                counts[kind] = int(s.execute(stmt).rowcount or 0)  # type: ignore[call-overload]

            gone("messages", delete(Message).where(Message.conversation_id.in_(conv_ids)))
            gone("handoffs", delete(Handoff).where(Handoff.conversation_id.in_(conv_ids)))
            gone("feedback", delete(Feedback).where(Feedback.conversation_id.in_(conv_ids)))
            gone(
                "tickets",
                delete(Ticket).where((Ticket.customer_id == customer_id) | Ticket.conversation_id.in_(conv_ids)),
            )
            gone("conversations", delete(Conversation).where(Conversation.id.in_(conv_ids)))
            gone("notes", delete(CrmNote).where(CrmNote.customer_id == customer_id))
            gone("orders", delete(Order).where(Order.customer_id == customer_id))
            gone("customers", delete(Customer).where(Customer.external_id == customer_id))
            gone("drafts", delete(KbDraft).where(KbDraft.id.in_(drafts)))
            gone(
                "audit_entries_anonymised",
                update(AuditEntry)
                .where((AuditEntry.actor == f"customer:{customer_id}") | AuditEntry.target.in_(conv_ids))
                .values(actor=ERASED_ACTOR),
            )
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
