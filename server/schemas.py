"""Request and response schemas, one family per resource. Routes never return ORM rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.types import Citation, HandoffBrief


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="The message text (1 to the configured maximum characters).")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the message is empty; write something")
        return v.strip()


class MessagePublic(BaseModel):
    id: str
    seq: int
    author: str
    text: str
    created_at: datetime
    citations: list[Citation] = Field(default_factory=list)
    grounding: float | None = None
    kind: str = ""
    action: dict[str, Any] | None = Field(
        default=None, description="A self-service action of this bot message: name, status, args, awaiting, executed."
    )


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: str = "en"


class ConversationPublic(BaseModel):
    id: str
    state: str
    customer_id: str | None
    queue: str | None
    priority: str
    language: str
    created_at: datetime
    updated_at: datetime


class ConversationWithMessages(ConversationPublic):
    messages: list[MessagePublic]


class ConversationsPublic(BaseModel):
    data: list[ConversationPublic]
    count: int


class TurnResult(BaseModel):
    """What posting a customer message returns: the stored message and the bot's replies."""

    conversation: ConversationPublic
    message: MessagePublic
    replies: list[MessagePublic]
    handoff: HandoffBrief | None = None


class AgentReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    suggestion_id: str | None = None  # set when the reply came from a copilot suggestion
    original_text: str | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the reply is empty")
        return v.strip()


class HandoffPublic(BaseModel):
    id: str
    conversation_id: str
    reason: str
    queue: str
    priority: str
    brief: HandoffBrief
    created_at: datetime
    accepted_by: str | None


class WidgetSession(BaseModel):
    token: str
    tenant_id: str
    customer_id: str | None


class WidgetProfile(BaseModel):
    tenant_id: str
    company: str
    bot_name: str
    greeting: str
    languages: list[str]


class ErrorBody(BaseModel):
    error: str
    detail: Any = None
