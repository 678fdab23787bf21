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
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import func, select

from core.db.schema import Conversation, Message, utcnow
from core.types import Author, ConversationState
from server.container import Services
from server.service import ConversationService

log = logging.getLogger("switchboard.sweeper")

WINDOW_S = 24 * 3600.0
STARTUP_GRACE_S = 2.0
MARGIN_S = 15.0


def orphans(services: Services, grace_s: float) -> list[tuple[str, str, str]]:
    """(tenant, conversation id, message id) of customer messages left without a reply,
    oldest first: the newest message of a bot-owned conversation, stored ``grace_s`` ago."""
    now = utcnow()
    cutoff, since = now - timedelta(seconds=grace_s), now - timedelta(seconds=WINDOW_S)
    recent = (
        select(Message.conversation_id, func.max(Message.seq).label("seq"))
        .where(Message.created_at > since)
        .group_by(Message.conversation_id)
        .subquery()
    )
    query = (
        select(Message.tenant_id, Message.conversation_id, Message.id)
        .join(recent, (recent.c.conversation_id == Message.conversation_id) & (recent.c.seq == Message.seq))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.state.in_((ConversationState.bot.value, ConversationState.awaiting_confirmation.value)),
            Message.author == Author.customer.value,
            Message.created_at < cutoff,
        )
        .order_by(Message.created_at)
    )
    with services.store.admin_session() as s:
        return [(t, c, m) for t, c, m in s.execute(query)]


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
    """The background thread: one sweep at start-up, then one every ``interval_s``."""

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
        while not self._stop.is_set():
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
