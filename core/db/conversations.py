"""Conversation and message persistence, shared by bot, copilot and server.

All functions take a tenant session from ``Store.session`` (so tenant scoping is automatic).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db.schema import AuditEntry, Conversation, Message
from core.errors import NotFound
from core.types import Author, Turn


def create_conversation(session: Session, customer_id: str | None, language: str = "en") -> Conversation:
    conv = Conversation(customer_id=customer_id, language=language)
    session.add(conv)
    session.flush()
    return conv


def get_conversation(session: Session, conversation_id: str) -> Conversation:
    conv = session.scalars(select(Conversation).where(Conversation.id == conversation_id)).first()
    if conv is None:
        raise NotFound(f"No conversation {conversation_id!r}")
    return conv


def add_message(
    session: Session, conv: Conversation, author: Author, text: str, meta: dict[str, Any] | None = None
) -> Message:
    last = session.scalar(select(func.max(Message.seq)).where(Message.conversation_id == conv.id))
    msg = Message(
        conversation_id=conv.id,
        tenant_id=conv.tenant_id,
        seq=(last or 0) + 1,
        author=author.value,
        text=text,
        meta=meta or {},
    )
    session.add(msg)
    session.flush()
    return msg


def list_messages(session: Session, conversation_id: str) -> list[Message]:
    return list(
        session.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq))
    )


def turns_of(messages: list[Message]) -> list[Turn]:
    return [Turn(author=Author(m.author), text=m.text, created_at=m.created_at) for m in messages]


def audit(session: Session, actor: str, action: str, target: str = "", **detail: Any) -> None:
    session.add(AuditEntry(actor=actor, action=action, target=target, detail=detail))
