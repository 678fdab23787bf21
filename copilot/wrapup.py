"""After the agent closes a conversation: the after-contact summary (disposition, tags,
follow-ups) goes into the CRM history (a ticket and a note), and a conversation the KB
could not answer but a human resolved becomes a KB draft for the editors."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select

from copilot.learning import DraftPublic, LearningLoop
from copilot.summaries import AfterContactSummary, Summarizer
from core.db.conversations import get_conversation, list_messages, turns_of
from core.db.schema import CrmNote, Customer, Handoff, Ticket
from core.db.store import Store
from core.types import Author, HandoffReason

KB_GAP_REASONS = frozenset({HandoffReason.no_answer.value})
KB_GAP_MARKERS = ("KB search found nothing",)


class WrapUp(BaseModel):
    after_contact: AfterContactSummary
    ticket_id: str
    draft: DraftPublic | None = None


class WrapUpService:
    def __init__(self, store: Store, summarizer: Summarizer, learning: LearningLoop) -> None:
        self.store = store
        self.summarizer = summarizer
        self.learning = learning

    def wrap_up(self, tenant_id: str, conversation_id: str, agent: str) -> WrapUp:
        with self.store.session(tenant_id) as s:
            conv = get_conversation(s, conversation_id)
            turns = turns_of(list_messages(s, conversation_id))
            customer_id = conv.customer_id
            handoffs = list(s.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id)))
            tried = [str(x) for x in dict(conv.memory.get("bot", {})).get("tried", [])]
            name = ""
            if customer_id:
                cust = s.scalars(select(Customer).where(Customer.external_id == customer_id)).first()
                name = cust.name if cust else ""
        cited_tags = [h.queue for h in handoffs if h.queue and h.queue != "general"]
        after = self.summarizer.after_contact(
            turns, handed_off=bool(handoffs), extra_tags=cited_tags, tenant_id=tenant_id
        )
        first = next((t.text for t in turns if t.author == Author.customer), "Conversation")
        status = {"resolved": "solved", "follow_up": "pending", "escalated": "open"}.get(after.disposition, "open")
        note = (
            f"After-contact summary ({after.disposition}): {after.summary}"
            + (f" Follow-ups: {' '.join(after.follow_ups)}" if after.follow_ups else "")
            + (f" Tags: {', '.join(after.tags)}." if after.tags else "")
        )
        with self.store.session(tenant_id) as s:
            ticket = s.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id)).first()
            if ticket is None:
                ticket = Ticket(
                    customer_id=customer_id, subject=first[:280], channel="chat", conversation_id=conversation_id
                )
                s.add(ticket)
            ticket.status = status
            ticket.summary = note
            if customer_id:
                s.add(CrmNote(customer_id=customer_id, author=agent, text=note))
            s.flush()
            ticket_id = ticket.external_id
        kb_gap = any(h.reason in KB_GAP_REASONS for h in handoffs) or any(m in t for t in tried for m in KB_GAP_MARKERS)
        draft = None
        if kb_gap and after.disposition != "escalated":
            draft = self.learning.draft(tenant_id, conversation_id, customer_id, turns, [name] if name else [])
        return WrapUp(after_contact=after, ticket_id=ticket_id, draft=draft)
