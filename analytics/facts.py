"""What the measures read: one ``ConversationFacts`` per conversation, loaded from the Store
in a handful of set queries (no query per conversation), then classified.

Every query runs in a tenant session, so another tenant's rows are never read.
Timestamps are UTC (SQLite returns them naive; they are stored as UTC).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from rapidfuzz import fuzz
from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from analytics.config import IDLE_GAP, INACTIVITY, REPEAT_MIN_WORDS, REPEAT_SIMILARITY, AnalyticsParams
from analytics.filters import NO_QUEUE, UNKNOWN_TOPIC
from core.db.schema import (
    AuditEntry,
    Conversation,
    CsatResponse,
    Feedback,
    Handoff,
    KbDraft,
    Message,
    Ticket,
)
from core.types import Author, ConversationState, HandoffReason

__all__ = [
    "AgentSegment",
    "ConversationFacts",
    "CsatFact",
    "DraftFact",
    "FeedbackFact",
    "FirstResponse",
    "HandoffFact",
    "LoadedFacts",
    "MessageFact",
    "as_utc",
    "load_facts",
]

CLAIM, HANDBACK, CLOSE = "conversation.claim", "conversation.handback", "conversation.close"
_HUMAN_STATES = frozenset({ConversationState.handoff_pending.value, ConversationState.human.value})
# The bot's replies that decide whether it solved anything (small talk and silence do not):
# the last of them must be an answer or an action for a conversation to count as bot-resolved.
_SUBSTANTIVE = frozenset({"answer", "act", "abstain", "clarify", "refusal"})
_SOLVING = frozenset({"answer", "act"})


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class MessageFact:
    seq: int
    author: str
    at: datetime
    kind: str = ""  # Message.meta["kind"]: answer, abstain, clarify, handoff, …
    agent: str = ""  # Message.meta["agent"] on agent messages
    text: str = ""  # customer messages only (effort and knowledge gaps read them)


@dataclass(frozen=True)
class HandoffFact:
    reason: str
    queue: str
    at: datetime


@dataclass(frozen=True)
class EventFact:
    action: str  # conversation.claim / handback / close (the audit log)
    actor: str
    at: datetime


@dataclass(frozen=True)
class CsatFact:
    rating: int
    comment: str
    resolved: bool | None
    at: datetime


@dataclass(frozen=True)
class FeedbackFact:
    conversation_id: str
    suggestion_id: str
    kind: str
    event: str
    edit_distance: int | None
    agent: str


@dataclass(frozen=True)
class DraftFact:
    id: str
    conversation_id: str
    title: str
    status: str


@dataclass(frozen=True)
class AgentSegment:
    """One stretch of a person handling the conversation: claim (or first reply) to hand-back or close."""

    agent: str
    start: datetime
    end: datetime
    active_s: float  # silences count up to IDLE_GAP each


@dataclass(frozen=True)
class FirstResponse:
    agent: str
    seconds: float


@dataclass
class ConversationFacts:
    """One conversation as the measures see it. Derived fields are set by ``classify``."""

    id: str
    customer_id: str | None
    customer_key: str | None  # customer id, or the widget visitor for anonymous visitors
    created_at: datetime
    closed_at: datetime | None
    state: str
    queue: str
    topic: str
    channel: str
    messages: list[MessageFact] = field(default_factory=list)
    handoffs: list[HandoffFact] = field(default_factory=list)
    events: list[EventFact] = field(default_factory=list)
    csat: CsatFact | None = None
    ticket: str | None = None
    # derived
    engaged: bool = False
    human: bool = False
    ended_at: datetime | None = None
    reopened: bool = False
    fcr: bool | None = None  # None: not ended yet, or nobody to recognise on a later contact
    contained: bool = False
    confirmed: bool = False
    customer_turns: int = 0
    repeats: int = 0
    clarifications: int = 0
    segments: list[AgentSegment] = field(default_factory=list)
    first_responses: list[FirstResponse] = field(default_factory=list)
    unanswered_handoffs: int = 0
    claim_waits_s: list[float] = field(default_factory=list)

    @property
    def handed_off(self) -> bool:
        return bool(self.handoffs)

    @property
    def after_hours(self) -> bool:
        return any(h.reason == HandoffReason.after_hours.value for h in self.handoffs)

    @property
    def settled(self) -> bool:
        """Counted in the resolution rates: it ended, or a person was involved (then it is not the bot's)."""
        return self.ended_at is not None or self.human

    @property
    def in_progress(self) -> bool:
        return not self.settled

    @property
    def handle_s(self) -> float | None:
        return sum(s.active_s for s in self.segments) if self.segments else None

    @property
    def agents(self) -> set[str]:
        return {s.agent for s in self.segments} | {m.agent for m in self.messages if m.author == "agent" and m.agent}

    @property
    def outcome(self) -> str:
        if not self.settled:
            return "in progress"
        if self.confirmed:
            return "bot resolved (confirmed)"
        if self.contained:
            return "bot resolved (assumed)"
        if self.human:
            return "handed off" if self.handed_off else "taken over by an agent"
        if self.reopened:
            return "reopened"
        if self.csat is not None and self.csat.resolved is False:
            return "not resolved (customer said so)"
        return "not resolved (no answer)"


@dataclass(frozen=True)
class _Contact:
    conversation_id: str
    customer_key: str
    created_at: datetime
    topic: str


@dataclass
class LoadedFacts:
    """Conversations created in the range (all of them, engaged or not), plus what the
    copilot and the learning loop recorded for them."""

    conversations: list[ConversationFacts]
    feedback: list[FeedbackFact]
    drafts: list[DraftFact]


# Conversation history imported from a CRM (``knowledge.crm``: ``memory["crm_id"]``) was not
# handled here and carries the import time as its creation time: it is not measured.
_HANDLED_HERE = Conversation.memory["crm_id"].as_string().is_(None)


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
    convs: dict[str, ConversationFacts] = {}
    for row in session.execute(
        select(
            Conversation.id,
            Conversation.customer_id,
            Conversation.visitor_id,
            Conversation.state,
            Conversation.queue,
            Conversation.created_at,
            Conversation.closed_at,
            Conversation.channel,
            topic_col,
        ).where(in_range)
    ):
        cid, customer, visitor, state, queue, created, closed, channel, topic = row
        convs[cid] = ConversationFacts(
            id=cid,
            customer_id=customer,
            customer_key=_key(customer, visitor),
            created_at=as_utc(created),
            closed_at=as_utc(closed) if closed is not None else None,
            state=state,
            queue=queue or NO_QUEUE,
            topic=topic or UNKNOWN_TOPIC,
            channel=channel or "chat",
        )
    if not convs:
        return LoadedFacts([], [], [])

    kind_col = Message.meta["kind"].as_string()
    agent_col = Message.meta["agent"].as_string()
    for mid, seq, author, created, text, kind, agent in session.execute(
        select(
            Message.conversation_id, Message.seq, Message.author, Message.created_at, Message.text, kind_col, agent_col
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(in_range)
        .order_by(Message.conversation_id, Message.seq)
    ):
        convs[mid].messages.append(
            MessageFact(
                seq=seq,
                author=author,
                at=as_utc(created),
                kind=kind or "",
                agent=agent or "",
                text=text if author == Author.customer.value else "",
            )
        )
    for cid, reason, queue, created in session.execute(
        select(Handoff.conversation_id, Handoff.reason, Handoff.queue, Handoff.created_at)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(in_range)
    ):
        convs[cid].handoffs.append(HandoffFact(reason=reason, queue=queue, at=as_utc(created)))
    for target, action, actor, created in session.execute(
        select(AuditEntry.target, AuditEntry.action, AuditEntry.actor, AuditEntry.created_at)
        .join(Conversation, Conversation.id == AuditEntry.target)
        .where(in_range, AuditEntry.action.in_((CLAIM, HANDBACK, CLOSE)))
    ):
        convs[target].events.append(EventFact(action=action, actor=actor, at=as_utc(created)))
    for cid, rating, comment, resolved, created in session.execute(
        select(
            CsatResponse.conversation_id,
            CsatResponse.rating,
            CsatResponse.comment,
            CsatResponse.resolved,
            CsatResponse.created_at,
        )
        .join(Conversation, Conversation.id == CsatResponse.conversation_id)
        .where(in_range)
    ):
        convs[cid].csat = CsatFact(rating=int(rating), comment=comment or "", resolved=resolved, at=as_utc(created))
    for cid, external in session.execute(
        select(Ticket.conversation_id, Ticket.external_id)
        .join(Conversation, Conversation.id == Ticket.conversation_id)
        .where(in_range)
    ):
        if cid is not None:
            convs[cid].ticket = external
    feedback = [
        FeedbackFact(cid, sid, kind, event, dist, agent or "")
        for cid, sid, kind, event, dist, agent in session.execute(
            select(
                Feedback.conversation_id,
                Feedback.suggestion_id,
                Feedback.kind,
                Feedback.event,
                Feedback.edit_distance,
                Feedback.agent,
            )
            .join(Conversation, Conversation.id == Feedback.conversation_id)
            .where(in_range)
        )
    ]
    drafts = [
        DraftFact(did, cid or "", title, status)
        for did, cid, title, status in session.execute(
            select(KbDraft.id, KbDraft.conversation_id, KbDraft.title, KbDraft.status)
            .join(Conversation, Conversation.id == KbDraft.conversation_id)
            .where(in_range)
        )
    ]
    contacts = _later_contacts(session, lo, hi + max(params.reopen_window, params.fcr_window), topic_col)
    for conv in convs.values():
        classify(conv, params, now, contacts.get(conv.customer_key or "", []))
    return LoadedFacts(list(convs.values()), feedback, drafts)


def _later_contacts(
    session: Session, lo: datetime, hi: datetime, topic_col: ColumnElement[str]
) -> dict[str, list[_Contact]]:
    """Engaged conversations (the customer wrote) by customer, created in ``[lo, hi)``."""
    wrote = exists().where(Message.conversation_id == Conversation.id, Message.author == Author.customer.value)
    out: dict[str, list[_Contact]] = defaultdict(list)
    for cid, customer, visitor, created, topic in session.execute(
        select(Conversation.id, Conversation.customer_id, Conversation.visitor_id, Conversation.created_at, topic_col)
        .where(Conversation.created_at >= lo, Conversation.created_at < hi, _HANDLED_HERE, wrote)
        .order_by(Conversation.created_at)
    ):
        key = _key(customer, visitor)
        if key is not None:
            out[key].append(_Contact(cid, key, as_utc(created), topic or UNKNOWN_TOPIC))
    return out


# -- classification ------------------------------------------------------------------------


def classify(conv: ConversationFacts, params: AnalyticsParams, now: datetime, contacts: list[_Contact]) -> None:
    """Set the derived fields of one conversation (formulas in docs/analytics.md)."""
    msgs = conv.messages
    conv.handoffs.sort(key=lambda h: h.at)
    conv.events.sort(key=lambda e: e.at)
    conv.engaged = any(m.author == Author.customer.value for m in msgs)
    conv.human = conv.handed_off or any(m.author == Author.agent.value for m in msgs)
    last = max((m.at for m in msgs), default=conv.created_at)
    if conv.state == ConversationState.closed.value:
        conv.ended_at = conv.closed_at or last
    elif conv.state not in _HUMAN_STATES and now - last >= INACTIVITY:
        conv.ended_at = last
    if conv.ended_at is not None:
        later = [c for c in contacts if c.conversation_id != conv.id and c.created_at > conv.created_at]
        conv.reopened = any(c.created_at <= conv.ended_at + params.reopen_window for c in later)
        if conv.customer_key is not None:
            conv.fcr = not any(
                c.created_at <= conv.ended_at + params.fcr_window and _same_topic(c.topic, conv.topic) for c in later
            )
    said_unresolved = conv.csat is not None and conv.csat.resolved is False
    substantive = [m.kind for m in msgs if m.author == Author.bot.value and m.kind in _SUBSTANTIVE]
    bot_solved = bool(substantive) and substantive[-1] in _SOLVING
    conv.contained = (
        conv.ended_at is not None and not conv.human and not conv.reopened and not said_unresolved and bot_solved
    )
    conv.confirmed = conv.contained and conv.csat is not None and conv.csat.resolved is True
    conv.customer_turns = sum(1 for m in msgs if m.author == Author.customer.value)
    conv.repeats = _repeats([m.text for m in msgs if m.author == Author.customer.value])
    conv.clarifications = sum(1 for m in msgs if m.author == Author.bot.value and m.kind == "clarify")
    conv.segments = _segments(conv)
    _responses(conv)


def _same_topic(a: str, b: str) -> bool:
    """Topics match when equal; an unknown topic matches any (it may well be the same issue)."""
    return a == b or UNKNOWN_TOPIC in (a, b)


def _repeats(texts: list[str]) -> int:
    """Customer messages that say again what an earlier one said (word order ignored)."""
    seen: list[str] = []
    n = 0
    for text in texts:
        norm = " ".join(text.lower().split())
        if len(norm.split()) >= REPEAT_MIN_WORDS:
            if any(fuzz.token_sort_ratio(norm, old) >= REPEAT_SIMILARITY for old in seen):
                n += 1
            seen.append(norm)
    return n


def _active_seconds(points: list[datetime]) -> float:
    ordered = sorted(points)
    cap = IDLE_GAP.total_seconds()
    return sum(min((b - a).total_seconds(), cap) for a, b in zip(ordered, ordered[1:], strict=False))


def _segments(conv: ConversationFacts) -> list[AgentSegment]:
    """Claim (or an agent's first reply) to hand-back or close; every message in between is
    activity; a segment still open (nobody closed it) is not counted."""
    timeline: list[tuple[datetime, int, str, str]] = [(e.at, 0, e.action, e.actor) for e in conv.events]
    timeline += [(m.at, 1, f"message:{m.author}", m.agent) for m in conv.messages]
    if conv.closed_at is not None and not any(e.action == CLOSE for e in conv.events):
        timeline.append((conv.closed_at, 2, CLOSE, ""))
    timeline.sort(key=lambda t: (t[0], t[1]))
    out: list[AgentSegment] = []
    agent: str | None = None
    start: datetime | None = None
    points: list[datetime] = []
    for at, _, what, who in timeline:
        if what == CLAIM or (what == "message:agent" and agent is None):
            if agent is not None and who and who != agent and start is not None:
                out.append(AgentSegment(agent, start, at, _active_seconds([*points, at])))
                agent = None
            if agent is None:
                agent, start, points = who or "unknown", at, [at]
            else:
                points.append(at)
        elif what in (HANDBACK, CLOSE):
            if agent is not None and start is not None:
                out.append(AgentSegment(agent, start, at, _active_seconds([*points, at])))
            agent, start, points = None, None, []
        elif agent is not None:
            points.append(at)
    return out


def _responses(conv: ConversationFacts) -> None:
    """First response time per handoff (to the first agent message after it) and the wait to claim."""
    agent_msgs = [m for m in conv.messages if m.author == Author.agent.value]
    claims = [e for e in conv.events if e.action == CLAIM]
    conv.first_responses, conv.claim_waits_s, conv.unanswered_handoffs = [], [], 0
    for i, h in enumerate(conv.handoffs):
        nxt = conv.handoffs[i + 1].at if i + 1 < len(conv.handoffs) else None
        reply = next((m for m in agent_msgs if m.at >= h.at and (nxt is None or m.at < nxt)), None)
        if reply is None:
            conv.unanswered_handoffs += 1
        else:
            conv.first_responses.append(FirstResponse(reply.agent or "unknown", (reply.at - h.at).total_seconds()))
        claim = next((c for c in claims if c.at >= h.at and (nxt is None or c.at < nxt)), None)
        if claim is not None:
            conv.claim_waits_s.append((claim.at - h.at).total_seconds())


def gap_questions(conv: ConversationFacts) -> list[tuple[int, str, str]]:
    """(seq, text, why) of the customer questions the bot could not answer: the question before
    each abstention, and the question that made the bot hand off as ``no_answer``."""
    found: dict[int, tuple[int, str, str]] = {}
    last_customer: MessageFact | None = None
    handoff_msgs: list[MessageFact | None] = []
    for m in conv.messages:
        if m.author == Author.customer.value:
            last_customer = m
        elif m.author == Author.bot.value and m.kind == "abstain" and last_customer is not None:
            found.setdefault(last_customer.seq, (last_customer.seq, last_customer.text, "abstain"))
        if m.author == Author.bot.value and m.kind == "handoff":
            handoff_msgs.append(last_customer)
    for i, h in enumerate(conv.handoffs):
        if h.reason != HandoffReason.no_answer.value:
            continue
        asked = handoff_msgs[i] if i < len(handoff_msgs) else None
        if asked is None:  # no matching handoff message: the last question before the handoff
            asked = next((m for m in reversed(conv.messages) if m.author == "customer" and m.at <= h.at), None)
        if asked is not None:
            found[asked.seq] = (asked.seq, asked.text, "no_answer")
    return [found[k] for k in sorted(found)]


def handle_window(conv: ConversationFacts) -> timedelta | None:
    """Claim-to-close span (idle time included) of the completed segments; for drill-down."""
    if not conv.segments:
        return None
    return sum((s.end - s.start for s in conv.segments), timedelta())
