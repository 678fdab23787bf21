"""Request and response schemas, one family per resource. Routes never return ORM rows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from core.clock import assume_utc
from core.types import Citation, HandoffBrief


def _storable(v: str) -> str:
    """Text the database can store: PostgreSQL refuses the NUL character in text."""
    if "\x00" in v:
        raise ValueError("the text contains a NUL character (\\u0000); remove it")
    return v


StorableText = Annotated[str, AfterValidator(_storable)]
# Timestamps always carry their offset (SQLite returns them without one: they are UTC).
UtcDatetime = Annotated[datetime, AfterValidator(assume_utc)]
# A BCP 47 language tag as the conversation stores it (at most 8 characters): en, de, pt-BR, zh-Hant.
LanguageTag = Annotated[str, Field(min_length=2, max_length=8, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,4})?$")]


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: StorableText = Field(description="The message text (1 to the configured maximum characters).")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the message is empty; write something")
        return v.strip()


class MessagePublic(BaseModel):
    id: str
    seq: int = Field(description="The message's place in its conversation: 1, 2, 3, … without gaps or repeats.")
    author: str
    text: str
    created_at: UtcDatetime
    citations: list[Citation] = Field(default_factory=list)
    grounding: float | None = None
    kind: str = ""
    action: dict[str, Any] | None = Field(
        default=None, description="A self-service action of this bot message: name, status, args, awaiting, executed."
    )


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: LanguageTag = "en"


class ConversationPublic(BaseModel):
    id: str
    state: str
    customer_id: str | None
    queue: str | None
    priority: str
    language: str
    created_at: UtcDatetime
    updated_at: UtcDatetime


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
    pending: bool = Field(
        default=False,
        description="The message is stored but its reply is not ready (HTTP 202): it arrives over the "
        "conversation's websocket, or from a human if the assistant cannot answer.",
    )


class AgentReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: StorableText
    suggestion_id: Annotated[StorableText, Field(max_length=64)] | None = None  # from a copilot suggestion
    original_text: StorableText | None = None

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
    created_at: UtcDatetime
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
