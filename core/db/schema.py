"""One SQLAlchemy schema for SQLite (embedded default) and PostgreSQL (scale-out).

Every tenant-owned table mixes in ``TenantScoped``; ``core.db.store`` adds the tenant filter
to every query of a tenant session, so no caller has to remember it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class TenantScoped:
    """Marker mixin: rows belong to one tenant."""

    tenant_id: Mapped[str] = mapped_column(String(64), index=True)


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- CRM -----------------------------------------------------------------------------


class Customer(TenantScoped, Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    tier: Mapped[str] = mapped_column(String(32), default="standard")
    address: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Every field of the CRM export beyond the common ones (tariff, meters, balance, plan, …),
    # nested and typed as imported; free-text leaves are redacted at import.
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Order(TenantScoped, Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32))
    placed_at: Mapped[str] = mapped_column(String(40), default="")
    shipped_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    delivered_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    carrier: Mapped[str | None] = mapped_column(String(40), nullable=True)
    tracking: Mapped[str | None] = mapped_column(String(80), nullable=True)
    items: Mapped[list[Any]] = mapped_column(default=list)
    total: Mapped[float] = mapped_column(default=0.0)
    currency: Mapped[str] = mapped_column(String(8), default="")
    delivery_address: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Ticket(TenantScoped, Base):
    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(64), default=lambda: "TCK-" + new_id()[:8])
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(32), default="open")
    channel: Mapped[str] = mapped_column(String(32), default="chat")
    created_at: Mapped[str] = mapped_column(String(40), default=lambda: utcnow().isoformat())
    summary: Mapped[str] = mapped_column(Text, default="")
    order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class CrmNote(TenantScoped, Base):
    __tablename__ = "crm_notes"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(64), default=new_id)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    author: Mapped[str] = mapped_column(String(120), default="")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(40), default=lambda: utcnow().isoformat())


# --- Conversations ----------------------------------------------------------------------


class Conversation(TenantScoped, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # The sweeper's read: a bot state and a range of waiting_since, both from the index (a
        # single-column index on waiting_since lost to ix_conversations_state on SQLite, whose
        # planner has no statistics: it read every bot-owned conversation).
        Index("ix_conversations_waiting", "state", "waiting_since"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    visitor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # widget session owner
    state: Mapped[str] = mapped_column(String(32), default="bot", index=True)
    queue: Mapped[str | None] = mapped_column(String(32), nullable=True)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    language: Mapped[str] = mapped_column(String(8), default="en")
    assigned_agent: Mapped[str | None] = mapped_column(String(120), nullable=True)
    memory: Mapped[dict[str, Any]] = mapped_column(default=dict)  # policy state (counters, pending action)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The channel of entry (analytics filter); the widget is ``chat``. NULL in rows older than the column.
    channel: Mapped[str | None] = mapped_column(String(32), default="chat", nullable=True)
    # Waiting for the bot's reply since (UTC): the time of the newest message when it is a
    # customer message stored while the bot owned the conversation; NULL otherwise. Written
    # with every message (core/db/conversations.add_message), cleared by a claim or a close;
    # the unanswered-message sweeper (server/sweeper.py) reads only the conversations it marks,
    # by ``ix_conversations_waiting``. NULL in rows older than the column (the sweeper marks
    # those at start-up).
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.seq", cascade="all, delete-orphan"
    )


class Message(TenantScoped, Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conv_seq", "conversation_id", "seq"),
        # One sequence number per message of a conversation (core/db/conversations.add_message).
        Index("uq_messages_conv_seq", "conversation_id", "seq", unique=True),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)  # citations, grounding, kind
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class IdempotencyKey(TenantScoped, Base):
    """A key that may be used once per conversation: a client's ``Idempotency-Key`` for a
    posted message (``client:<key>``), or ``reply:<message id>`` so a customer message gets
    at most one bot turn. ``message_id`` is the message the key produced."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "conversation_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(32), index=True)
    key: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Handoff(TenantScoped, Base):
    __tablename__ = "handoffs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    queue: Mapped[str] = mapped_column(String(32), default="general")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    brief: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    accepted_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# --- Knowledge base ---------------------------------------------------------------------


class Article(TenantScoped, Base):
    __tablename__ = "articles"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(500), default="")
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    language: Mapped[str] = mapped_column(String(8), default="en")
    source: Mapped[str] = mapped_column(String(500), default="")
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    flags: Mapped[list[Any]] = mapped_column(default=list)  # e.g. suspicious passages for editors
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ArticleVersion(TenantScoped, Base):
    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "article_id", "version"),)
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120), default="")


class ArticleTombstone(TenantScoped, Base):
    """The last version number of a deleted article, written with the delete: loaded again,
    the article continues from there (``knowledge/numbering.py``), so a chunk id
    (``article::vN::n``) never names two texts. Removed when the article exists again."""

    __tablename__ = "article_tombstones"
    __table_args__ = (UniqueConstraint("tenant_id", "article_id"),)
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(200))
    last_version: Mapped[int] = mapped_column(Integer)
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KbState(Base):
    """One row per tenant: a counter bumped on every article change, read by every worker
    before a search so all workers search the same live versions (knowledge/index/versions.py).
    Not tenant-owned: it outlives a deleted tenant, so a tenant created again with the same id
    continues both the counter and, above ``version_floor`` (the highest version number the
    deleted tenant used), its articles' version numbers."""

    __tablename__ = "kb_state"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # NULL in rows older than the column (read as 0).
    version_floor: Mapped[int | None] = mapped_column(Integer, default=0, nullable=True)


class KbDraft(TenantScoped, Base):
    __tablename__ = "kb_drafts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, approved, rejected
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- Audit, feedback, erasure -----------------------------------------------------------


# The audit entry that records a write action's outcome under its idempotency key (its
# ``target``): at most one per key and tenant (``uq_audit_log_ledger_key``), which is what makes
# two yeses for one write that arrive at once run it once (``bot.actions.ledger``).
LEDGER_ACTION = "idempotency.action"
LEDGER_ONLY = sql_text(f"action = '{LEDGER_ACTION}'")  # the partial index's predicate, literally


class AuditEntry(TenantScoped, Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index(
            "uq_audit_log_ledger_key",
            "tenant_id",
            "target",
            unique=True,
            sqlite_where=LEDGER_ONLY,
            postgresql_where=LEDGER_ONLY,
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Feedback(TenantScoped, Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(32), index=True)
    suggestion_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # article, reply, action, facts
    event: Mapped[str] = mapped_column(String(16))  # shown, inserted, edited, dismissed
    edit_distance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agent: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CsatResponse(TenantScoped, Base):
    """The customer's rating of one closed conversation (1-5, optional comment); one per conversation."""

    __tablename__ = "csat_responses"
    __table_args__ = (UniqueConstraint("tenant_id", "conversation_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")  # redacted at the door
    resolved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # "did we solve it?" (None: not answered)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ErasureEntry(TenantScoped, Base):
    __tablename__ = "erasure_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_hash: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
