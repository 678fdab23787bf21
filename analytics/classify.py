"""Classify one conversation: ended, contained (confirmed or assumed), reopened, first
contact resolution, effort, agent stretches and response times. Formulas: docs/analytics.md."""

from __future__ import annotations

from datetime import datetime

from rapidfuzz import fuzz

from analytics.config import IDLE_GAP, INACTIVITY, REPEAT_MIN_WORDS, REPEAT_SIMILARITY, AnalyticsParams
from analytics.facts import CLAIM, CLOSE, HANDBACK, AgentSegment, Contact, ConversationFacts, FirstResponse, MessageFact
from analytics.filters import UNKNOWN_TOPIC
from core.types import Author, ConversationState, HandoffReason

__all__ = ["classify", "gap_questions"]

_HUMAN_STATES = frozenset({ConversationState.handoff_pending.value, ConversationState.human.value})
_CLOSED = ConversationState.closed.value
_CUSTOMER, _BOT, _AGENT = Author.customer.value, Author.bot.value, Author.agent.value
# The bot's replies that decide whether it solved anything (small talk and silence do not):
# the last of them must be an answer or an action for a conversation to count as bot-resolved.
_SUBSTANTIVE = frozenset({"answer", "act", "abstain", "clarify", "refusal"})
_SOLVING = frozenset({"answer", "act"})


def classify(conv: ConversationFacts, params: AnalyticsParams, now: datetime, contacts: list[Contact]) -> None:
    """Set the derived fields of one conversation (formulas in docs/analytics.md)."""
    conv.handoffs.sort(key=lambda h: h.at)
    conv.events.sort(key=lambda e: e.at)
    customer_texts: list[str] = []
    last_substantive = ""
    clarifications = 0
    agent_wrote = False
    last = conv.created_at
    for m in conv.messages:  # one pass over the messages
        if m.at > last:
            last = m.at
        if m.author == _CUSTOMER:
            customer_texts.append(m.text)
        elif m.author == _BOT:
            if m.kind in _SUBSTANTIVE:
                last_substantive = m.kind
            if m.kind == "clarify":
                clarifications += 1
        elif m.author == _AGENT:
            agent_wrote = True
    conv.engaged = bool(customer_texts)
    conv.human = conv.handed_off or agent_wrote
    if conv.state == _CLOSED:
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
    conv.contained = (
        conv.ended_at is not None
        and not conv.human
        and not conv.reopened
        and not said_unresolved
        and last_substantive in _SOLVING
    )
    conv.confirmed = conv.contained and conv.csat is not None and conv.csat.resolved is True
    conv.customer_turns = len(customer_texts)
    conv.repeats = _repeats(customer_texts)
    conv.clarifications = clarifications
    conv.segments = _segments(conv) if (conv.events or agent_wrote) else []
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
    conv.first_responses, conv.claim_waits_s, conv.unanswered_handoffs = [], [], 0
    if not conv.handoffs:
        return
    agent_msgs = [m for m in conv.messages if m.author == _AGENT]
    claims = [e for e in conv.events if e.action == CLAIM]
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
        if m.author == _CUSTOMER:
            last_customer = m
        elif m.author == _BOT and m.kind == "abstain" and last_customer is not None:
            found.setdefault(last_customer.seq, (last_customer.seq, last_customer.text, "abstain"))
        if m.author == _BOT and m.kind == "handoff":
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
