"""What the measures read: one ``ConversationFacts`` per conversation (loaded by
``analytics.load``, classified by ``analytics.classify``). Timestamps are aware UTC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.clock import assume_utc
from core.types import HandoffReason

__all__ = [
    "CLAIM",
    "CLOSE",
    "HANDBACK",
    "AgentSegment",
    "Contact",
    "ConversationFacts",
    "CsatFact",
    "DraftFact",
    "EventFact",
    "FeedbackFact",
    "FirstResponse",
    "HandoffFact",
    "LoadedFacts",
    "MessageFact",
    "as_utc",
]

# The audit log's actions that bound an agent's handling of a conversation.
CLAIM, HANDBACK, CLOSE = "conversation.claim", "conversation.handback", "conversation.close"


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware datetime in UTC: a naive one (SQLite hands them back naive)
    is read as UTC (``core.clock.assume_utc``), an aware one is converted to UTC."""
    return assume_utc(moment).astimezone(UTC)


@dataclass(slots=True)
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
class Contact:
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
