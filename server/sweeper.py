"""Customer messages stored without a reply get one: answered, or handed off, once.

A message is orphaned when the process that stored it died before its turn finished (a
crash, a kill -9) or its turn failed after it was stored (a database or event-bus fault;
the post then answered 202). The sweeper finds, in conversations that the bot still owns,
those whose newest message is a customer message older than a grace period, and runs the
turn again (``ConversationService.answer_unanswered``); when that fails too, it hands the
conversation to a human. At most one reply is ever stored per message (the ``reply:`` key),
so sweepers of several workers, a client retry and a late original turn cannot double it.

It runs once at start-up (short grace: what the previous process left) and then every
``unanswered_sweep_s`` seconds (grace: the turn's model deadline plus a margin, so turns
still running elsewhere are not taken for orphans). Only messages of the last
``WINDOW_S`` are considered.

What a sweep reads: the conversations marked as waiting for the bot's reply
(``Conversation.waiting_since``, in the index ``ix_conversations_waiting`` with the state),
not the day's messages. The marker is written in the transaction that stores each message
(``core.db.conversations.add_message``): a customer message stored while the bot owns the
conversation sets it, the bot's reply, a handoff, an agent's or a system message clears it,
and so do a claim and a close. A process that dies after the customer's message was
committed leaves the marker set, so the message is swept. Each marked conversation is then
checked as the guarantee reads (a bot-owned state; its newest message, found by
``(conversation_id, seq)``, a customer message older than the grace), so a marker that is
out of date answers nothing.

Cost: an index range of the waiting conversations plus one keyed read each, whatever the
day's traffic. One ``orphans()`` call with 20 conversations waiting among 6,500 of today
(65,000 messages): SQLite 21 ms -> 0.10 ms (13,000 / 26,000 conversations: 42 / 86 ms ->
0.10 ms; 200 waiting: 1.4 ms), PostgreSQL 20 ms -> 0.5 ms. Price: one UPDATE more per
customer message stored (SQLite +50 us, PostgreSQL about +0.2 ms a unit of work); the bot's
reply clears the marker in the UPDATE it already makes.

Conversations stored without a marker (by a version before it, or by a worker of the
previous version during a rolling upgrade) are marked at start-up, before the first sweep,
and again every ``MARK_EVERY_S`` (``mark_waiting``: one scan of the window's messages, as
every sweep did before; 40 ms on the database above). A worker of the previous version
sweeps what it stores with its own sweeper while it runs; what it leaves when it stops is
marked by the next pass of any worker, also when no worker starts after it (a rolling
upgrade that starts the new workers before it stops the old ones).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import bindparam, func, literal, select, update
from sqlalchemy.orm import aliased

from core.db.conversations import BOT_STATES
from core.db.schema import Conversation, Message, utcnow
from core.types import Author
from server.container import Services
from server.service import ConversationService

log = logging.getLogger("switchboard.sweeper")

WINDOW_S = 24 * 3600.0
STARTUP_GRACE_S = 2.0
MARGIN_S = 15.0
# Between two marking passes (``mark_waiting``): how long a message that a worker of the
# previous version left unmarked may wait for its sweep, at 1/40 of the scans the sweep made
# before the marker (one every 15 s).
MARK_EVERY_S = 600.0

_BOT_STATES = [literal(state) for state in sorted(BOT_STATES)]  # plain parameters of a prebuilt statement
_newer = aliased(Message)
_NEWEST_SEQ = select(func.max(_newer.seq)).where(_newer.conversation_id == Conversation.id).scalar_subquery()
# Built once. The marked conversations of the window, by the index on ``waiting_since``; each
# one's newest message by ``(conversation_id, seq)``, checked as the guarantee reads.
_ORPHANS = (
    select(Conversation.tenant_id, Conversation.id, Message.id)
    .join(Message, (Message.conversation_id == Conversation.id) & (Message.seq == _NEWEST_SEQ))
    .where(
        Conversation.waiting_since > bindparam("since"),
        Conversation.waiting_since < bindparam("cutoff"),
        Conversation.state.in_(_BOT_STATES),
        Message.author == Author.customer.value,
        Message.created_at < bindparam("cutoff"),
    )
    .order_by(Message.created_at)
)


def orphans(services: Services, grace_s: float) -> list[tuple[str, str, str]]:
    """(tenant, conversation id, message id) of customer messages left without a reply,
    oldest first: the newest message of a bot-owned conversation marked as waiting
    (``waiting_since``), stored more than ``grace_s`` seconds and less than ``WINDOW_S`` ago.
    One indexed read across tenants; raises ``StoreUnavailable`` when the database is."""
    now = utcnow()
    params = {"cutoff": now - timedelta(seconds=grace_s), "since": now - timedelta(seconds=WINDOW_S)}
    with services.store.reading() as conn:
        return [(t, c, m) for t, c, m in conn.execute(_ORPHANS, params)]


# What the sweep read before the marker existed: the newest message of every conversation with
# a message in the window. Only ``mark_waiting`` reads it, once per start-up.
_recent = (
    select(Message.conversation_id, func.max(Message.seq).label("seq"))
    .where(Message.created_at > bindparam("since"))
    .group_by(Message.conversation_id)
    .subquery()
)
_UNMARKED = (
    select(Message.conversation_id, Message.seq, Message.created_at)
    .join(_recent, (_recent.c.conversation_id == Message.conversation_id) & (_recent.c.seq == Message.seq))
    .join(Conversation, Conversation.id == Message.conversation_id)
    .where(
        Conversation.waiting_since.is_(None),
        Conversation.state.in_(_BOT_STATES),
        Message.author == Author.customer.value,
    )
)
# Conditional: still unmarked, still the bot's, and that message still the newest (a reply
# stored since is not undone).
_MARK = (
    update(Conversation)
    .where(
        Conversation.id == bindparam("b_id"),
        Conversation.waiting_since.is_(None),
        Conversation.state.in_(_BOT_STATES),
        _NEWEST_SEQ == bindparam("b_seq"),
    )
    .values(waiting_since=bindparam("b_at"), updated_at=Conversation.updated_at)
    .execution_options(synchronize_session=False)
)


def mark_waiting(services: Services) -> int:
    """Mark the bot-owned conversations of the last ``WINDOW_S`` whose newest message is a
    customer message but which carry no ``waiting_since`` (stored by code before the marker,
    or by a worker of the previous version during a rolling upgrade), so that sweeps find
    them; returns how many were marked. One scan of the window's messages (the cost of a
    sweep before the marker), then one conditional UPDATE per conversation found, in one
    transaction; run once at start-up. Raises ``StoreUnavailable`` when the database is unavailable."""
    since = utcnow() - timedelta(seconds=WINDOW_S)
    with services.store.reading() as conn:
        found = sorted(conn.execute(_UNMARKED, {"since": since}))  # by id: workers lock in one order
    marked = 0
    with services.store.admin_session() as s:  # one commit
        for conv_id, seq, created_at in found:
            done = s.execute(_MARK, {"b_id": conv_id, "b_seq": seq, "b_at": created_at})
            marked += getattr(done, "rowcount", 0) or 0
    if marked:
        log.info("marked %d conversation(s) waiting for a reply since before the marker", marked)
    return marked


def sweep(services: Services, grace_s: float) -> int:
    """Answer (or hand off) every orphan found now; returns how many got a reply here."""
    done = 0
    conversations = ConversationService(services)
    for tenant, conv_id, message_id in orphans(services, grace_s):
        try:
            with services.compute.hold():  # a turn like any other: it takes a compute slot
                answered = conversations.answer_unanswered(tenant, conv_id, message_id)
            if answered:
                done += 1
        except Exception:  # noqa: BLE001  (one conversation must not stop the sweep)
            log.exception("could not answer message %s of %s", message_id, conv_id)
    if done:
        log.info("answered %d message(s) that had been left without a reply", done)
    return done


class Sweeper:
    """The background thread: one sweep at start-up, then one every ``interval_s``; a marking
    pass (``mark_waiting``) before the first sweep and every ``MARK_EVERY_S`` seconds."""

    def __init__(self, services: Services, interval_s: float, grace_s: float | None = None) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.services = services
        self.interval_s = interval_s
        self.grace_s = grace_s if grace_s is not None else services.settings.model_timeout_s + MARGIN_S
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="unanswered-sweeper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        grace = STARTUP_GRACE_S
        marked_at: float | None = None
        while not self._stop.is_set():
            # Before the first sweep, then every MARK_EVERY_S: conversations stored without the marker.
            if marked_at is None or time.monotonic() - marked_at >= MARK_EVERY_S:
                try:
                    mark_waiting(self.services)
                    marked_at = time.monotonic()
                except Exception:  # noqa: BLE001  (the database may be down: try again next round)
                    log.exception("marking conversations waiting for a reply failed")
            try:
                sweep(self.services, grace)
            except Exception:  # noqa: BLE001  (the database may be down: try again next round)
                log.exception("sweep for unanswered messages failed")
            grace = self.grace_s
            self._stop.wait(self.interval_s)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
