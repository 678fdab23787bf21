"""Load ``ConversationFacts`` from the Store in a handful of set queries (none per
conversation), then classify them.

Every query runs in a tenant session, so another tenant's rows are never read.
Timestamps come back as UTC (SQLite returns them naive; they are stored as UTC).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, literal, select, type_coerce
from sqlalchemy.orm import Session

from analytics.classify import classify
from analytics.config import AnalyticsParams
from analytics.facts import (
    CLAIM,
    CLOSE,
    HANDBACK,
    Contact,
    ConversationFacts,
    CsatFact,
    DraftFact,
    EventFact,
    FeedbackFact,
    HandoffFact,
    LoadedFacts,
    MessageFact,
    as_utc,
)
from analytics.filters import NO_QUEUE, UNKNOWN_TOPIC
from core.db.schema import AuditEntry, Conversation, CsatResponse, Feedback, Handoff, KbDraft, Message, Ticket
from core.types import Author

__all__ = ["load_facts"]

# Conversation history imported from a CRM (``knowledge.crm``: ``memory["crm_id"]``) was not
# handled here and carries the import time as its creation time: it is not measured.
_HANDLED_HERE = Conversation.memory["crm_id"].as_string().is_(None)


CHUNK = 500  # conversation ids per query (well under every database's parameter limit)


def _each(session: Session, stmt: Select[*tuple[Any, ...]], column: Any, ids: list[str]) -> Iterator[Any]:
    """The rows of ``stmt`` for the given conversation ids, a chunk of ids per query (an ``IN``
    list on an indexed column plans well everywhere, with or without table statistics)."""
    for i in range(0, len(ids), CHUNK):
        yield from session.execute(stmt.where(column.in_(ids[i : i + CHUNK])))


def _stamps(session: Session) -> tuple[Any, Any]:
    """(column wrapper, parser) for timestamps: SQLite stores them as text, which is read as
    text and parsed with ``datetime.fromisoformat`` (C speed) instead of SQLAlchemy's per-row
    regular expression; other databases return datetimes."""
    if session.get_bind().dialect.name == "sqlite":
        return (lambda col: type_coerce(col, String)), _parse_text
    return (lambda col: col), as_utc


def _parse_text(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.fromisoformat(value))  # a text with an offset is converted, not relabelled


def _key(customer_id: str | None, visitor_id: str | None) -> str | None:
    if customer_id:
        return customer_id
    return f"visitor:{visitor_id}" if visitor_id else None


def load_facts(session: Session, lo: datetime, hi: datetime, params: AnalyticsParams, now: datetime) -> LoadedFacts:
    """Every conversation created in ``[lo, hi)`` (UTC) with its messages, handoffs, claim /
    hand-back / close events, CSAT answer and after-hours ticket, classified as of ``now``;
    later contacts up to ``hi + max(reopen window, FCR window)`` are read for reopen and FCR."""
    in_range = and_(Conversation.created_at >= lo, Conversation.created_at < hi, _HANDLED_HERE)
    topic_col = Conversation.memory[("bot", "topic_intent")].as_string()
    ts, utc = _stamps(session)
    convs: dict[str, ConversationFacts] = {}
    for row in session.execute(
        select(
            Conversation.id,
            Conversation.customer_id,
            Conversation.visitor_id,
            Conversation.state,
            Conversation.queue,
            ts(Conversation.created_at),
            ts(Conversation.closed_at),
            Conversation.channel,
            topic_col,
        ).where(in_range)
    ):
        cid, customer, visitor, state, queue, created, closed, channel, topic = row
        convs[cid] = ConversationFacts(
            id=cid,
            customer_id=customer,
            customer_key=_key(customer, visitor),
            created_at=utc(created),
            closed_at=utc(closed) if closed is not None else None,
            state=state,
            queue=queue or NO_QUEUE,
            topic=topic or UNKNOWN_TOPIC,
            channel=channel or "chat",
        )
    if not convs:
        return LoadedFacts([], [], [])
    ids = list(convs)

    kind_col = Message.meta["kind"].as_string()
    agent_col = Message.meta["agent"].as_string()
    text_col = case((Message.author == Author.customer.value, Message.text), else_=literal(""))  # others not needed
    for mid, seq, author, created, text, kind, agent in _each(
        session,
        select(
            Message.conversation_id, Message.seq, Message.author, ts(Message.created_at), text_col, kind_col, agent_col
        ).order_by(Message.conversation_id, Message.seq),
        Message.conversation_id,
        ids,
    ):
        convs[mid].messages.append(
            MessageFact(
                seq=seq,
                author=author,
                at=utc(created),
                kind=kind or "",
                agent=agent or "",
                text=text or "",
            )
        )
    for cid, reason, queue, created in _each(
        session,
        select(Handoff.conversation_id, Handoff.reason, Handoff.queue, ts(Handoff.created_at)),
        Handoff.conversation_id,
        ids,
    ):
        convs[cid].handoffs.append(HandoffFact(reason=reason, queue=queue, at=utc(created)))
    for target, action, actor, created in _each(
        session,
        select(AuditEntry.target, AuditEntry.action, AuditEntry.actor, ts(AuditEntry.created_at)).where(
            AuditEntry.action.in_((CLAIM, HANDBACK, CLOSE))
        ),
        AuditEntry.target,
        ids,
    ):
        convs[target].events.append(EventFact(action=action, actor=actor, at=utc(created)))
    for cid, rating, comment, resolved, created in _each(
        session,
        select(
            CsatResponse.conversation_id,
            CsatResponse.rating,
            CsatResponse.comment,
            CsatResponse.resolved,
            ts(CsatResponse.created_at),
        ),
        CsatResponse.conversation_id,
        ids,
    ):
        convs[cid].csat = CsatFact(rating=int(rating), comment=comment or "", resolved=resolved, at=utc(created))
    for cid, external in _each(
        session,
        select(Ticket.conversation_id, Ticket.external_id),
        Ticket.conversation_id,
        ids,
    ):
        if cid is not None:
            convs[cid].ticket = external
    feedback = [
        FeedbackFact(cid, sid, kind, event, dist, agent or "")
        for cid, sid, kind, event, dist, agent in _each(
            session,
            select(
                Feedback.conversation_id,
                Feedback.suggestion_id,
                Feedback.kind,
                Feedback.event,
                Feedback.edit_distance,
                Feedback.agent,
            ),
            Feedback.conversation_id,
            ids,
        )
    ]
    drafts = [
        DraftFact(did, cid or "", title, status)
        for did, cid, title, status in _each(
            session,
            select(KbDraft.id, KbDraft.conversation_id, KbDraft.title, KbDraft.status),
            KbDraft.conversation_id,
            ids,
        )
    ]
    contacts: dict[str, list[Contact]] = defaultdict(list)
    for conv in sorted(convs.values(), key=lambda c: c.created_at):
        if conv.customer_key and any(m.author == Author.customer.value for m in conv.messages):
            contacts[conv.customer_key].append(Contact(conv.id, conv.customer_key, conv.created_at, conv.topic))
    later = hi + max(params.reopen_window, params.fcr_window)
    if later > hi and hi < now:  # contacts after the range (none yet when the range ends today)
        for key, found in _later_contacts(session, hi, min(later, now), topic_col).items():
            contacts[key].extend(found)
    for conv in convs.values():
        classify(conv, params, now, contacts.get(conv.customer_key or "", []))
    return LoadedFacts(list(convs.values()), feedback, drafts)


def _later_contacts(
    session: Session, lo: datetime, hi: datetime, topic_col: ColumnElement[str]
) -> dict[str, list[Contact]]:
    """Engaged conversations (the customer wrote) by customer, created in ``[lo, hi)``."""
    _, utc = _stamps(session)
    found = {
        cid: (customer, visitor, created, topic)
        for cid, customer, visitor, created, topic in session.execute(
            select(
                Conversation.id, Conversation.customer_id, Conversation.visitor_id, Conversation.created_at, topic_col
            ).where(Conversation.created_at >= lo, Conversation.created_at < hi, _HANDLED_HERE)
        )
    }
    wrote = {
        cid
        for (cid,) in _each(
            session,
            select(Message.conversation_id).where(Message.author == Author.customer.value).distinct(),
            Message.conversation_id,
            list(found),
        )
    }
    out: dict[str, list[Contact]] = defaultdict(list)
    for cid in sorted(wrote, key=lambda c: utc(found[c][2])):
        customer, visitor, created, topic = found[cid]
        key = _key(customer, visitor)
        if key is not None:
            out[key].append(Contact(cid, key, utc(created), topic or UNKNOWN_TOPIC))
    return out
