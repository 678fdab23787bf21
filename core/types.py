"""Typed data that crosses rooms. Pydantic models so ``server`` can serialise them as-is."""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum

from pydantic import BaseModel, Field


class Visibility(str, Enum):
    public = "public"
    internal = "internal"


class Author(str, Enum):
    customer = "customer"
    bot = "bot"
    agent = "agent"
    system = "system"


class ConversationState(str, Enum):
    """Who holds the conversation (the bot's turn policy is a state machine over these)."""

    bot = "bot"  # the bot answers
    awaiting_confirmation = "awaiting_confirmation"  # a write action waits for a yes/no
    handoff_pending = "handoff_pending"  # queued for a human; the bot stays silent
    human = "human"  # an agent owns it; the bot stays silent
    closed = "closed"


class HandoffReason(str, Enum):
    """Why the bot handed off, recorded exactly (analytics and evals compare the value).

    The product's own reasons are members. A tenant's sensitive topic records
    ``sensitive_<key>`` (``SensitiveTopic.handoff_reason``); such a value (``sensitive_`` and a
    lower-case slug) becomes a member on first use, so ``HandoffReason("sensitive_safety")``
    works and ``.value`` is the tenant's string. Anything else raises ``ValueError`` (a typo in
    an eval suite's expected reason is still an error).
    """

    explicit_request = "explicit_request"
    no_answer = "no_answer"
    frustration = "frustration"
    repetition = "repetition"  # kept for stored handoffs; the bot now records repeated_failure
    sensitive_topic = "sensitive_topic"  # a tenant topic whose configuration says so
    after_hours = "after_hours"
    unsupported_language = "unsupported_language"
    action_failed = "action_failed"
    repeated_failure = "repeated_failure"  # the given steps did not work, or the same problem again
    cancellation = "cancellation"  # cancelling the service, closing the account, switching away
    sensitive_fraud = "sensitive_fraud"  # fraud, scams, identity theft, account takeover
    sensitive_legal = "sensitive_legal"  # legal action, solicitors, regulator or ombudsman threats
    sensitive_bereavement = "sensitive_bereavement"  # a death reported

    @classmethod
    def _missing_(cls, value: object) -> HandoffReason | None:
        if isinstance(value, str) and _REASON_SLUG.fullmatch(value):
            member = str.__new__(cls, value)
            member._name_ = value
            member._value_ = value
            cls._value2member_map_[value] = member
            return member
        return None


_REASON_SLUG = re.compile(r"sensitive_[a-z0-9_]{1,54}")


class Turn(BaseModel):
    """One message of a conversation as the rooms see it."""

    author: Author
    text: str
    created_at: datetime | None = None


class Passage(BaseModel):
    """A retrieved chunk of a KB article."""

    chunk_id: str
    article_id: str
    version: int
    title: str
    url: str
    section: str = ""
    text: str
    visibility: Visibility = Visibility.public
    language: str = "en"
    score: float = 0.0


class Citation(BaseModel):
    n: int
    article_id: str
    title: str
    url: str
    version: int
    section: str = ""


class OrderFact(BaseModel):
    id: str
    status: str
    placed_at: str
    total: float
    currency: str = ""
    items: list[str] = Field(default_factory=list)
    carrier: str | None = None
    tracking: str | None = None
    shipped_at: str | None = None
    delivered_at: str | None = None


class TicketFact(BaseModel):
    id: str
    subject: str
    status: str
    created_at: str
    summary: str = ""


class CustomerFacts(BaseModel):
    """What the CRM knows about the customer of this conversation (and nobody else)."""

    customer_id: str
    name: str
    tier: str = "standard"
    language: str = "en"
    orders: list[OrderFact] = Field(default_factory=list)
    tickets: list[TicketFact] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    # Every other field of the CRM record (tariff, meters, balance, plan, …), nested as imported.
    attributes: dict[str, object] = Field(default_factory=dict)


class Context(BaseModel):
    """What ``knowledge.context`` hands to the bot and the copilot."""

    query: str
    passages: list[Passage] = Field(default_factory=list)
    customer: CustomerFacts | None = None


class HandoffBrief(BaseModel):
    """What the human needs to act at once, without asking the customer again."""

    summary: str
    intent: str | None = None
    reason: HandoffReason
    reason_detail: str = ""
    tried: list[str] = Field(default_factory=list)
    cited: list[Citation] = Field(default_factory=list)
    sentiment: float = 0.0
    language: str = "en"
    customer: CustomerFacts | None = None
    queue: str = "general"
    priority: str = "normal"
