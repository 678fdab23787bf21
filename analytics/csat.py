"""Customer satisfaction: after a conversation closes, the widget asks for a rating (1-5),
an optional comment and whether the question was solved. One answer per conversation
(a unique constraint backs the check, so two racing answers cannot both land)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from analytics.errors import AlreadyRated, NotRatable
from core.db.conversations import get_conversation
from core.db.schema import CsatResponse, Message
from core.db.store import Store
from core.types import Author, ConversationState

__all__ = ["MAX_COMMENT_CHARS", "CsatBook", "CsatIn", "CsatPublic", "CsatStatus"]

MAX_COMMENT_CHARS = 1000


class CsatIn(BaseModel):
    """The customer's answer. ``resolved``: "did we solve your question?" (optional)."""

    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=5, description="1 (very unsatisfied) to 5 (very satisfied)")
    comment: str = Field(default="", max_length=MAX_COMMENT_CHARS)
    resolved: bool | None = None

    @field_validator("comment")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()


class CsatPublic(BaseModel):
    conversation_id: str
    rating: int
    comment: str
    resolved: bool | None
    created_at: datetime


class CsatStatus(BaseModel):
    """Whether the widget should ask: ``asked`` once the conversation is closed and the customer
    wrote in it; ``answered`` once the one answer is in."""

    conversation_id: str
    asked: bool
    answered: bool
    response: CsatPublic | None = None


def _public(row: CsatResponse) -> CsatPublic:
    return CsatPublic(
        conversation_id=row.conversation_id,
        rating=row.rating,
        comment=row.comment,
        resolved=row.resolved,
        created_at=row.created_at,
    )


class CsatBook:
    def __init__(self, store: Store) -> None:
        self.store = store

    def status(self, tenant_id: str, conversation_id: str) -> CsatStatus:
        """Raises ``NotFound`` for an unknown conversation (or another tenant's)."""
        with self.store.session(tenant_id) as s:
            conv = get_conversation(s, conversation_id)
            row = s.scalars(select(CsatResponse).where(CsatResponse.conversation_id == conversation_id)).first()
            wrote = self._wrote(s, conversation_id)
            return CsatStatus(
                conversation_id=conversation_id,
                asked=conv.state == ConversationState.closed.value and wrote,
                answered=row is not None,
                response=_public(row) if row else None,
            )

    @staticmethod
    def _wrote(s: object, conversation_id: str) -> bool:
        q = select(exists().where(Message.conversation_id == conversation_id, Message.author == Author.customer.value))
        return bool(s.scalar(q))  # type: ignore[attr-defined]

    def record(self, tenant_id: str, conversation_id: str, answer: CsatIn) -> CsatPublic:
        """Store the one answer of a closed conversation. The caller has checked that the
        customer owns it and redacted the comment.

        Raises ``NotFound``, ``NotRatable`` (still open, or the customer never wrote) or
        ``AlreadyRated``."""
        try:
            with self.store.session(tenant_id) as s:
                conv = get_conversation(s, conversation_id)
                if conv.state != ConversationState.closed.value:
                    raise NotRatable("The conversation is still open; it can be rated once it has ended.")
                if not self._wrote(s, conversation_id):
                    raise NotRatable("There is nothing to rate: no message was written in this conversation.")
                if s.scalars(select(CsatResponse.id).where(CsatResponse.conversation_id == conversation_id)).first():
                    raise AlreadyRated("This conversation has already been rated; thank you.")
                row = CsatResponse(
                    conversation_id=conversation_id,
                    rating=answer.rating,
                    comment=answer.comment,
                    resolved=answer.resolved,
                )
                s.add(row)
                s.flush()
                return _public(row)
        except IntegrityError:  # a second answer raced the first one past the check
            raise AlreadyRated("This conversation has already been rated; thank you.") from None
