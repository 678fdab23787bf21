"""Conversation and message persistence, shared by bot, copilot and server.

All functions take a tenant session from ``Store.session`` (so tenant scoping is automatic).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.engine import Connection
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


# Built once (building the statement was a third of the read's cost).
_OWNER = select(Conversation.customer_id, Conversation.visitor_id).where(
    Conversation.id == bindparam("conversation_id"), Conversation.tenant_id == bindparam("tenant_id")
)


def conversation_owner(conn: Connection, tenant_id: str, conversation_id: str) -> tuple[str | None, str | None]:
    """``(customer_id, visitor_id)`` of the tenant's conversation, from a plain connection
    (``Store.reading``; the tenant is filtered here, not by a session). Raises ``NotFound``
    when the id is not a conversation of ``tenant_id``, like ``get_conversation``."""
    row = conn.execute(_OWNER, {"conversation_id": conversation_id, "tenant_id": tenant_id}).first()
    if row is None:
        raise NotFound(f"No conversation {conversation_id!r}")
    return row.customer_id, row.visitor_id


def add_message(
    session: Session, conv: Conversation, author: Author, text: str, meta: dict[str, Any] | None = None
) -> Message:
    """Append a message with the conversation's next sequence number, atomically.

    Writers of one conversation are serialised by the database itself: PostgreSQL locks the
    conversation row until the transaction ends (``SELECT … FOR UPDATE``); SQLite takes its
    write lock when the INSERT starts, and the INSERT computes ``max(seq) + 1`` itself. The
    unique index on ``(conversation_id, seq)`` refuses a duplicate should anything slip by
    (``Store.run(..., retry_conflicts=True)`` then runs the unit of work again)."""
    if session.get_bind().dialect.name != "sqlite":  # SQLite has no row locks: its INSERT takes the write lock
        session.execute(select(Conversation.id).where(Conversation.id == conv.id).with_for_update())
    next_seq = (
        select(func.coalesce(func.max(Message.seq), 0) + 1)
        .where(Message.conversation_id == conv.id)
        .scalar_subquery()
    )
    # One INSERT … RETURNING: the row as stored, its sequence number included.
    inserted = insert(Message).values(
        conversation_id=conv.id,
        tenant_id=conv.tenant_id,
        seq=next_seq,
        author=author.value,
        text=text,
        meta=meta or {},
    )
    return session.scalars(inserted.returning(Message)).one()


def list_messages(session: Session, conversation_id: str) -> list[Message]:
    return list(
        session.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq))
    )


def turns_of(messages: list[Message]) -> list[Turn]:
    return [Turn(author=Author(m.author), text=m.text, created_at=m.created_at) for m in messages]


def audit(session: Session, actor: str, action: str, target: str = "", **detail: Any) -> None:
    session.add(AuditEntry(actor=actor, action=action, target=target, detail=detail))
