"""What the driver saw while playing a case: typed, saved in the report with each verdict.

The driver (``server/cli/company.py``) fills these from what the product returns and stores:
the bot message's ``kind`` / ``mode`` / ``citations``, handoff records, the conversation's
state and pending action, audit entries, and the events published to the agent console.
The scorer (``evals.company.verdicts``) reads only these types.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "ActionSeen",
    "BotTranscript",
    "BotTurn",
    "Cited",
    "CopilotSeen",
    "CopilotTranscript",
    "HandoffSeen",
    "ReplySeen",
    "SuggestedArticle",
]


class Cited(BaseModel):
    """One citation of a reply. ``visibility`` is the article's (public / internal), or
    ``other`` for a source that is not a KB article (e.g. the customer's own account)."""

    article_id: str
    title: str = ""
    section: str = ""
    visibility: str = "public"


class HandoffSeen(BaseModel):
    reason: str
    queue: str = ""
    priority: str = ""
    detail: str = ""


class ActionSeen(BaseModel):
    """A self-service action the bot proposed, asked about, or ran in one turn.

    ``status`` is the product's own word for it (e.g. proposed, done, needs_<parameter>);
    ``awaiting`` what the bot waits for next (``confirmation`` or a parameter name);
    ``executed`` whether the action ran in this turn (a write committed or a read answered)."""

    name: str
    status: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    awaiting: str | None = None
    executed: bool = False
    writes: bool | None = None


class BotTurn(BaseModel):
    customer: str
    reply: str = ""
    kind: str = ""  # the bot message's kind: answer, abstain, clarify, act, handoff, refusal, smalltalk, silent
    mode: str = ""
    citations: list[Cited] = Field(default_factory=list)
    handoff: HandoffSeen | None = None
    action: ActionSeen | None = None
    state: str = ""  # the conversation's state after the turn
    latency_s: float = 0.0


class BotTranscript(BaseModel):
    case_id: str
    customer_id: str | None = None
    turns: list[BotTurn] = Field(default_factory=list)
    retrieved: list[str] = Field(default_factory=list)  # ranked public article ids for the last turn
    error: str | None = None

    @property
    def last(self) -> BotTurn | None:
        return self.turns[-1] if self.turns else None


class SuggestedArticle(BaseModel):
    article_id: str
    title: str = ""
    visibility: str = "public"
    score: float = 0.0


class ReplySeen(BaseModel):
    text: str
    citations: list[str] = Field(default_factory=list)
    mode: str = ""


class CopilotSeen(BaseModel):
    """What the agent console received for the conversation's last customer message."""

    articles: list[SuggestedArticle] = Field(default_factory=list)
    next_action: str | None = None
    next_action_detail: dict[str, Any] = Field(default_factory=dict)
    replies: list[ReplySeen] = Field(default_factory=list)
    guidance: list[str] = Field(default_factory=list)
    latency_s: float = 0.0  # last customer message -> suggestions event


class CopilotTranscript(BaseModel):
    case_id: str
    customer_id: str | None = None
    conversation: list[dict[str, str]] = Field(default_factory=list)
    seen: CopilotSeen | None = None
    error: str | None = None
