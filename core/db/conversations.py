"""Conversation and message persistence, shared by bot, copilot and server.

All functions take a tenant session from ``Store.session`` (so tenant scoping is automatic).
The ones a customer turn runs (``conversation_row``, ``message_rows``, ``add_message``,
``claim_conversation``, the idempotency keys) are prebuilt Core statements on the session's
connection, each with the session's tenant as an explicit filter: an ORM statement costs
about five times as much to run, and a turn runs a dozen. They return rows, read by the same
attribute names as the ORM objects. Those also take a ``CoreSession`` (``Store.run_core``:
one transaction on a plain connection, without an ORM session's overhead).

Every message written by ``add_message`` keeps the conversation's ``waiting_since`` marker in
the same transaction: set to the message's time for a customer message stored while the bot
owns the conversation (``BOT_STATES``), cleared by any other message. The unanswered-message
sweeper (``server/sweeper.py``) reads only the marked conversations.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import DateTime, Row, bindparam, case, func, insert, literal, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.db.schema import AuditEntry, Base, Conversation, IdempotencyKey, Message
from core.db.store import CoreSession, execute_scoped, session_connection, session_tenant
from core.errors import Forbidden, NotFound
from core.types import Author, ConversationState, Turn

_conversations = Base.metadata.tables[Conversation.__tablename__]
_messages = Base.metadata.tables[Message.__tablename__]
_keys = Base.metadata.tables[IdempotencyKey.__tablename__]

# The states in which the bot answers the customer: a conversation waiting for the customer's
# yes to an action is still the bot's.
BOT_STATES = frozenset({ConversationState.bot.value, ConversationState.awaiting_confirmation.value})


class MessageLike(Protocol):
    """A stored message: an ORM ``Message`` or a row of ``message_rows`` / ``add_message``."""

    @property
    def author(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


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


# A tenant session (``Store.session`` / ``Store.run``) or a Core one (``Store.run_core``).
AnySession = Session | CoreSession

_CONVERSATION = select(_conversations).where(
    _conversations.c.id == bindparam("conversation_id"), _conversations.c.tenant_id == bindparam("tenant_id")
)
_MEMORY = select(_conversations.c.memory).where(
    _conversations.c.id == bindparam("conversation_id"), _conversations.c.tenant_id == bindparam("tenant_id")
)
_MESSAGE = select(_messages).where(
    _messages.c.id == bindparam("message_id"), _messages.c.tenant_id == bindparam("tenant_id")
)
_MESSAGES = (
    select(_messages)
    .where(_messages.c.conversation_id == bindparam("conversation_id"), _messages.c.tenant_id == bindparam("tenant_id"))
    .order_by(_messages.c.seq)
)
_LOCK = (
    select(_conversations.c.id)
    .where(_conversations.c.id == bindparam("conversation_id"), _conversations.c.tenant_id == bindparam("tenant_id"))
    .with_for_update()
)
_NEXT_SEQ = (
    select(func.coalesce(func.max(_messages.c.seq), 0) + 1)
    .where(_messages.c.conversation_id == bindparam("of_conversation"))
    .scalar_subquery()
)
# One INSERT … RETURNING: the row as stored, its sequence number included.
_INSERT_MESSAGE = insert(_messages).values(seq=_NEXT_SEQ).returning(*_messages.c)
_KEY = select(_keys.c.message_id).where(
    _keys.c.conversation_id == bindparam("conversation_id"),
    _keys.c.key == bindparam("key"),
    _keys.c.tenant_id == bindparam("tenant_id"),
)
_INSERT_KEY = insert(_keys)
# The marker of a conversation waiting for the bot's reply (``add_message``). ``updated_at`` is
# kept as it is (its ``onupdate`` would otherwise move it: a marker is no change of the
# conversation). Parameters are prefixed: an UPDATE reserves its table's column names.
_WAITING_OF = (
    _conversations.c.id == bindparam("b_conversation_id"),
    _conversations.c.tenant_id == bindparam("b_tenant_id"),
)
_MARK_WAITING = (
    update(_conversations)
    .where(*_WAITING_OF)
    .values(
        waiting_since=case(
            (
                _conversations.c.state.in_([literal(state) for state in sorted(BOT_STATES)]),
                bindparam("b_at", type_=DateTime(timezone=True)),
            ),
            else_=None,
        ),
        updated_at=_conversations.c.updated_at,
    )
)
_CLEAR_WAITING = (
    update(_conversations)
    .where(*_WAITING_OF, _conversations.c.waiting_since.is_not(None))
    .values(waiting_since=None, updated_at=_conversations.c.updated_at)
)


_CONVERSATION_LOCKED = _CONVERSATION.with_for_update()


def conversation_row(session: AnySession, conversation_id: str, *, lock: bool = False) -> Row[Any]:
    """The conversation as a row (read like ``get_conversation``'s object; ``NotFound`` the same).
    ``lock``: on PostgreSQL the row stays locked until the transaction ends (``FOR UPDATE``),
    so an ``add_message(..., locked=True)`` that follows needs no lock of its own."""
    conn = session_connection(session)
    statement = _CONVERSATION_LOCKED if lock and conn.dialect.name != "sqlite" else _CONVERSATION
    row = conn.execute(statement, {"conversation_id": conversation_id, "tenant_id": session_tenant(session)}).first()
    if row is None:
        raise NotFound(f"No conversation {conversation_id!r}")
    return row


def conversation_memory(session: AnySession, conversation_id: str) -> dict[str, Any]:
    """The conversation's memory as stored (``{}`` for none)."""
    memory = execute_scoped(session, _MEMORY, conversation_id=conversation_id).scalar()
    return dict(memory or {})


def message_row(session: AnySession, message_id: str) -> Row[Any] | None:
    return execute_scoped(session, _MESSAGE, message_id=message_id).first()


def message_rows(session: AnySession, conversation_id: str) -> list[Row[Any]]:
    """The conversation's messages in order, as rows (``list_messages`` without ORM objects)."""
    return list(execute_scoped(session, _MESSAGES, conversation_id=conversation_id))


def add_message(
    session: AnySession,
    conv: Conversation | Row[Any],
    author: Author,
    text: str,
    meta: dict[str, Any] | None = None,
    *,
    locked: bool = False,
) -> Row[Any]:
    """Append a message with the conversation's next sequence number, atomically; returns
    the row as stored.

    Writers of one conversation are serialised by the database itself: PostgreSQL locks the
    conversation row until the transaction ends (``SELECT … FOR UPDATE``; ``locked``: this
    transaction holds that lock already — it read the row ``FOR UPDATE`` or updated it — and
    ``conv`` is the row as it stands under that lock); SQLite takes its write lock when the
    INSERT starts, and the INSERT computes ``max(seq) + 1`` itself. The unique index on
    ``(conversation_id, seq)`` refuses a duplicate should anything slip by
    (``Store.run(..., retry_conflicts=True)`` then runs the unit of work again).

    In the same transaction, the conversation's ``waiting_since``: a customer message sets it
    to the message's ``created_at`` when the conversation's state (as it stands under the
    lock) is one of ``BOT_STATES``, and clears it otherwise; any other message clears it (one
    UPDATE, skipped when ``locked`` and ``conv.waiting_since`` is already None, as in the row
    ``claim_conversation`` returns after clearing it)."""
    tenant = session_tenant(session)
    if conv.tenant_id is not None and conv.tenant_id != tenant:
        raise Forbidden(f"Refusing to write a row of tenant {conv.tenant_id!r} in a session of {tenant!r}")
    conn = session_connection(session)
    if not locked and conn.dialect.name != "sqlite":  # SQLite has no row locks: its INSERT takes the write lock
        conn.execute(_LOCK, {"conversation_id": conv.id, "tenant_id": tenant})
    row = conn.execute(
        _INSERT_MESSAGE,
        {
            "of_conversation": conv.id,
            "conversation_id": conv.id,
            "tenant_id": tenant,
            "author": author.value,
            "text": text,
            "meta": meta or {},
        },
    ).one()
    where = {"b_conversation_id": conv.id, "b_tenant_id": tenant}
    if author is Author.customer:
        conn.execute(_MARK_WAITING, {**where, "b_at": row.created_at})
    elif not locked or conv.waiting_since is not None:
        conn.execute(_CLEAR_WAITING, where)
    return row


@lru_cache(maxsize=64)
def _claim(columns: tuple[str, ...], states: tuple[str, ...]) -> Any:
    return (
        update(_conversations)
        .where(
            _conversations.c.id == bindparam("b_conversation_id"),
            _conversations.c.tenant_id == bindparam("b_tenant_id"),
            # The states as plain parameters of the cached statement: an expanding IN list is
            # rewritten into the SQL on every execution.
            _conversations.c.state.in_([literal(state) for state in states]),
        )
        .values({c: bindparam(f"new_{c}") for c in columns})
        .returning(*(c for c in _conversations.c if c.name != "memory"))
    )


def claim_conversation(
    session: AnySession, conversation_id: str, states: Collection[str], values: dict[str, Any]
) -> Row[Any] | None:
    """Apply ``values`` to the conversation only while its state is one of ``states``; the row
    as updated, without ``memory`` (the caller has what it wrote; reading a bot's memory back
    parsed its JSON for nothing), or None (another state won). Conditional and atomic on
    SQLite and PostgreSQL."""
    statement = _claim(tuple(values), tuple(sorted(states)))
    params = {f"new_{c}": v for c, v in values.items()}
    return (
        session_connection(session)
        .execute(statement, {**params, "b_conversation_id": conversation_id, "b_tenant_id": session_tenant(session)})
        .first()
    )


def keyed_message_id(session: AnySession, conversation_id: str, key: str) -> str | None:
    """The message an idempotency key of the conversation produced, None for an unused key."""
    found = execute_scoped(session, _KEY, conversation_id=conversation_id, key=key).scalar()
    return str(found) if found is not None else None


def add_key(session: AnySession, conversation_id: str, key: str, message_id: str) -> None:
    """Use an idempotency key once (a second use violates the unique constraint)."""
    execute_scoped(session, _INSERT_KEY, conversation_id=conversation_id, key=key, message_id=message_id)


def list_messages(session: Session, conversation_id: str) -> list[Message]:
    return list(
        session.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq))
    )


def turns_of(messages: Sequence[MessageLike]) -> list[Turn]:
    return [Turn(author=Author(m.author), text=m.text, created_at=m.created_at) for m in messages]


def audit(session: Session, actor: str, action: str, target: str = "", **detail: Any) -> None:
    session.add(AuditEntry(actor=actor, action=action, target=target, detail=detail))
