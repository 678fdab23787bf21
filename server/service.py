"""Conversation orchestration: store a message (committed before it is acknowledged),
publish events, run the bot turn or the copilot, apply handoffs and hand-backs.

This is the only place that drives both ``bot`` and ``copilot``.

Reliability rules kept here (docs/operations.md, "Faults"):

- A customer message is stored once: a retry with the same ``Idempotency-Key`` returns the
  stored message and its replies (it is neither stored again nor counted as repetition).
- Once stored, the post never fails: a fault in the turn (model, event bus, database)
  answers 202 with the stored message and the conversation's state; the reply follows over
  the websocket, or the sweeper (``server/sweeper.py``) answers or hands off later.
- A customer message gets at most one bot turn stored (key ``reply:<message id>``), even
  when a retry, a sweeper and the original request race.
- Takeover is final: once an agent claims or replies, no bot text for that conversation is
  streamed or stored, even from a turn already in flight (``server/turns.py``); the state
  stays ``human`` until a hand-back.
- Publishing never fails a request (``core/events.py``); sequence numbers let websockets
  fetch what they missed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import HandoffRequired
from bot.guardrails import refusal_text, screen_input
from bot.output_filter import StreamGuard, allowed_hosts_for, filter_output, host_allowed
from bot.policy import BotMemory, BotReply
from bot.tenant import load_policy
from copilot.live import LiveJob
from core.db.conversations import (
    BOT_STATES,
    add_key,
    add_message,
    audit,
    claim_conversation,
    conversation_memory,
    conversation_row,
    create_conversation,
    get_conversation,
    keyed_message_id,
    list_messages,
    message_row,
    message_rows,
    turns_of,
)
from core.db.schema import Conversation, Handoff, Message, utcnow
from core.db.store import CoreSession
from core.errors import Conflict, Forbidden, InvalidInput, PayloadTooLarge, StoreUnavailable
from core.events import Event, agent_topic, customer_topic, queue_topic
from core.models.guard import model_budget
from core.types import Author, Citation, ConversationState, HandoffBrief, HandoffReason, Turn
from server.auth import Principal, Role
from server.container import Services
from server.schemas import ConversationPublic, HandoffPublic, MessagePublic, TurnResult
from server.turns import TakeoverWatch

log = logging.getLogger("switchboard.conversations")

HANDOFF_TEXT = (
    "I'm connecting you with a member of our team now. "
    "They'll see everything we've discussed, so you won't need to repeat yourself."
)
FAULT_HANDOFF_TEXT = (
    "I'm sorry, I couldn't answer that just now. I'm passing your message to a member of our team, "
    "who will see everything we've discussed."
)
BOT = ConversationState.bot.value
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")  # printable ASCII, no spaces (as HTTP header values)


def message_public(m: Message | Row[Any]) -> MessagePublic:
    return MessagePublic(
        id=m.id,
        seq=m.seq,
        author=m.author,
        text=m.text,
        created_at=m.created_at,
        citations=m.meta.get("citations", []),
        grounding=m.meta.get("grounding"),
        kind=m.meta.get("kind", ""),
        action=m.meta.get("action_call"),
    )


def conversation_public(c: Conversation | Row[Any]) -> ConversationPublic:
    return ConversationPublic(
        id=c.id,
        state=c.state,
        customer_id=c.customer_id,
        queue=c.queue,
        priority=c.priority,
        language=c.language,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def handoff_public(h: Handoff) -> HandoffPublic:
    return HandoffPublic(
        id=h.id,
        conversation_id=h.conversation_id,
        reason=h.reason,
        queue=h.queue,
        priority=h.priority,
        brief=HandoffBrief.model_validate(h.brief),
        created_at=h.created_at,
        accepted_by=h.accepted_by,
    )


def check_owner(principal: Principal, customer_id: str | None, visitor_id: str | None) -> None:
    """Raise ``Forbidden`` when a customer asks for a conversation that is not theirs (its
    ``customer_id``, or for an anonymous conversation its widget session ``visitor_id``);
    staff pass."""
    if principal.role != Role.customer:
        return
    owner_ok = (
        customer_id == principal.customer_id
        if customer_id is not None
        else principal.customer_id is None and visitor_id == principal.visitor_id
    )
    if not owner_ok:
        raise Forbidden("This conversation belongs to someone else")


def reply_key(message_id: str) -> str:
    """The key that lets a customer message have one bot turn stored, whoever runs it."""
    return f"reply:{message_id}"


@dataclass
class _Stored:
    """A customer message as stored, with what its turn needs."""

    message: MessagePublic
    conversation: ConversationPublic
    memory: BotMemory
    turns: list[Turn]
    customer_id: str | None
    replies: list[MessagePublic]
    existing: bool = False  # an earlier post with the same Idempotency-Key stored it


@dataclass
class ConversationService:
    services: Services

    # -- helpers -------------------------------------------------------------------------

    def _publish(
        self, tenant: str, conv_id: str, type_: str, data: dict[str, object], *, customer: bool = True
    ) -> None:
        """Best effort: the message is stored; websockets fetch what the bus lost."""
        event = Event(type=type_, tenant_id=tenant, conversation_id=conv_id, data=data)
        bus = self.services.bus
        topics = [agent_topic(tenant, conv_id)] + ([customer_topic(tenant, conv_id)] if customer else [])
        try:
            many = getattr(bus, "publish_many", None)  # a bus written before publish_many: one by one
            if many is not None:
                many(topics, event)
            else:
                for topic in topics:
                    bus.publish(topic, event)
        except Exception:  # noqa: BLE001  (a bus fault never fails the request)
            log.exception("publishing %s for %s failed", type_, conv_id)

    def _publish_queue(self, tenant: str, conv: Conversation | ConversationPublic) -> None:
        data = (conv if isinstance(conv, ConversationPublic) else conversation_public(conv)).model_dump(mode="json")
        try:
            self.services.bus.publish(
                queue_topic(tenant), Event(type="queue", tenant_id=tenant, conversation_id=data["id"], data=data)
            )
        except Exception:  # noqa: BLE001
            log.exception("publishing the queue change of %s failed", data["id"])

    def check_access(self, principal: Principal, conv: Conversation) -> None:
        check_owner(principal, conv.customer_id, conv.visitor_id)

    def check_length(self, text: str) -> None:
        limit = self.services.settings.max_message_chars
        if len(text) > limit:
            raise PayloadTooLarge(f"The message has {len(text)} characters; the limit is {limit}.")

    # -- customer side ---------------------------------------------------------------------

    def start(self, principal: Principal, language: str = "en") -> ConversationPublic:
        def work(s: Session) -> ConversationPublic:
            conv = create_conversation(s, principal.customer_id, language=language)
            conv.visitor_id = principal.visitor_id
            audit(s, principal.actor, "conversation.start", conv.id)
            return conversation_public(conv)

        started = self.services.store.run(principal.tenant_id, work)
        self.services.access.remember(principal.tenant_id, started.id, (principal.customer_id, principal.visitor_id))
        return started

    def get(self, principal: Principal, conv_id: str) -> tuple[ConversationPublic, list[MessagePublic]]:
        with self.services.store.session(principal.tenant_id) as s:
            conv = get_conversation(s, conv_id)
            self.check_access(principal, conv)
            return conversation_public(conv), [message_public(m) for m in list_messages(s, conv_id)]

    def since(self, principal: Principal, conv_id: str, seq: int) -> tuple[ConversationPublic, list[MessagePublic]]:
        """The conversation and its messages after sequence number ``seq`` (what a websocket
        that reconnects has missed)."""
        with self.services.store.session(principal.tenant_id) as s:
            conv = get_conversation(s, conv_id)
            self.check_access(principal, conv)
            rows = s.scalars(
                select(Message).where(Message.conversation_id == conv_id, Message.seq > seq).order_by(Message.seq)
            )
            return conversation_public(conv), [message_public(m) for m in rows]

    def post_customer_message(
        self, principal: Principal, conv_id: str, text: str, idempotency_key: str | None = None
    ) -> TurnResult:
        """Store the message (once per ``idempotency_key``) and run the bot's turn.

        Returns ``pending=True`` (HTTP 202) when the message is stored but its reply is not
        ready: another request is answering it, or the turn failed after the message was
        stored (the sweeper answers or hands off later). Raises before anything is stored
        only: ``RateLimited``, ``PayloadTooLarge``, ``NotFound``, ``Forbidden``, ``Conflict``,
        ``StoreUnavailable``."""
        self.check_length(text)
        if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise InvalidInput("Idempotency-Key must be 1 to 128 printable ASCII characters without spaces.")
        tenant = principal.tenant_id
        stored = self._store_customer_message(principal, conv_id, text, idempotency_key)
        if stored.existing:  # a retry: not stored again, not counted against the rate
            return self._retry_result(principal, stored)
        # Committed: acknowledge it to everyone watching.
        self._publish(tenant, conv_id, "message", stored.message.model_dump(mode="json"))
        return self._answer(principal, conv_id, stored)

    def _store_customer_message(
        self, principal: Principal, conv_id: str, text: str, idempotency_key: str | None
    ) -> _Stored:
        """One unit of work: the conversation and access checks, an earlier post with the same
        key (returned as ``existing``: neither stored again nor counted against the rate), the
        message rate (429 before anything is stored; counted once, however often the unit of
        work runs), then the message, redacted at the door (once), is stored."""
        redacted: list[str] = []

        def work(s: CoreSession) -> _Stored:
            conv = conversation_row(s, conv_id, lock=True)  # the message's sequence number needs it
            check_owner(principal, conv.customer_id, conv.visitor_id)
            if idempotency_key is not None:
                earlier = self._posted_in(s, conv, idempotency_key)
                if earlier is not None:
                    return earlier
            if not redacted:
                # trust: 429 before anything is stored (server/limits.py)
                self.services.limits.check_message(
                    principal.tenant_id, principal.visitor_id or principal.customer_id or conv_id
                )
                redacted.append(self.services.redactor(text))
            if conv.state == ConversationState.closed.value:
                raise Conflict("This conversation is closed; start a new one.")
            msg = add_message(s, conv, Author.customer, redacted[0], locked=True)
            if idempotency_key is not None:
                add_key(s, conv_id, f"client:{idempotency_key}", msg.id)
            return self._snapshot(s, conv, msg)

        # A concurrent retry with the same key, or a sequence clash: run again, re-reading.
        # Core statements only: no ORM session (docs/operations.md, "CPU per turn").
        return self.services.store.run_core(principal.tenant_id, work, retry_conflicts=True)

    def _snapshot(
        self,
        s: Session | CoreSession,
        conv: Conversation | Row[Any],
        msg: Message | Row[Any],
        *,
        existing: bool = False,
    ) -> _Stored:
        messages = message_rows(s, conv.id)
        replies = [
            message_public(m) for m in messages if m.seq > msg.seq and (m.meta or {}).get("reply_to") == msg.id
        ]
        return _Stored(
            message=message_public(msg),
            conversation=conversation_public(conv),
            memory=BotMemory.model_validate(conv.memory.get("bot", {})),
            turns=turns_of([m for m in messages if m.seq <= msg.seq]),
            customer_id=conv.customer_id,
            replies=replies,
            existing=existing,
        )

    def _posted_in(self, s: CoreSession, conv: Row[Any], idempotency_key: str) -> _Stored | None:
        message_id = keyed_message_id(s, conv.id, f"client:{idempotency_key}")
        if message_id is None:
            return None
        msg = message_row(s, message_id)
        return self._snapshot(s, conv, msg, existing=True) if msg is not None else None

    def _retry_result(self, principal: Principal, earlier: _Stored) -> TurnResult:
        """A retry gets the original message and its replies; a message whose turn died
        (no reply, none in flight here) is answered now."""
        conv = earlier.conversation
        if earlier.replies or conv.state not in BOT_STATES or self._answered(
            principal.tenant_id, conv.id, earlier.message.id
        ):
            return TurnResult(conversation=conv, message=earlier.message, replies=earlier.replies, pending=False)
        if self.services.turns.in_flight(earlier.message.id):
            return TurnResult(conversation=conv, message=earlier.message, replies=[], pending=True)
        return self._answer(principal, conv.id, earlier)

    def _answered(self, tenant: str, conv_id: str, message_id: str) -> bool:
        with self.services.store.session(tenant) as s:
            return keyed_message_id(s, conv_id, reply_key(message_id)) is not None

    def _answer(self, principal: Principal, conv_id: str, stored: _Stored) -> TurnResult:
        """Run the turn for a stored message; never raises (the message is stored)."""
        tenant = principal.tenant_id
        try:
            # One read of the tenant's configuration serves every step of the turn.
            with self.services.store.tenant_snapshot():
                return self._answer_stored(principal, conv_id, stored)
        except Exception:  # noqa: BLE001  (stored: answer 202 with the state; the sweeper follows up)
            log.exception("the turn for message %s of %s failed after it was stored", stored.message.id, conv_id)
            return TurnResult(
                conversation=self._current(tenant, conv_id) or stored.conversation,
                message=stored.message,
                replies=[],
                pending=True,
            )

    def _answer_stored(self, principal: Principal, conv_id: str, stored: _Stored) -> TurnResult:
        tenant = principal.tenant_id
        if stored.conversation.state in (ConversationState.human.value, ConversationState.handoff_pending.value):
            self.suggest_for_agent(tenant, conv_id, stored.message.seq)
            return TurnResult(conversation=stored.conversation, message=stored.message, replies=[])
        if stored.conversation.state not in BOT_STATES:
            return TurnResult(conversation=stored.conversation, message=stored.message, replies=[])
        screen = screen_input(stored.message.text)
        if screen.flagged:  # trust: a direct injection gets a safe reply, audited; no model, no handoff
            scope = load_policy(self.services.store, tenant).scope
            return self._refuse(principal, conv_id, refusal_text(scope), screen.audit_detail(), stored.message)
        return self._bot_turn(principal, conv_id, stored.turns, stored.customer_id, stored.memory, stored.message)

    def _current(self, tenant: str, conv_id: str) -> ConversationPublic | None:
        try:
            with self.services.store.session(tenant) as s:
                return conversation_public(get_conversation(s, conv_id))
        except Exception:  # noqa: BLE001  (the database may be what failed)
            return None

    def _store_bot_message(
        self,
        tenant: str,
        conv_id: str,
        stored: MessagePublic,
        text: str,
        meta: dict[str, Any],
        *,
        values: dict[str, Any] | None = None,
        memory: BotMemory | None = None,
        extra: Callable[[Session], None] | None = None,
    ) -> tuple[MessagePublic, ConversationPublic] | None:
        """Store the bot's message for ``stored`` and apply ``values`` (and the bot's ``memory``,
        beside the rest of the conversation's memory as stored) to the conversation in one
        transaction — only while the conversation is still the bot's and no other turn
        answered ``stored`` already; else store nothing and return None."""

        key = reply_key(stored.id)
        attempts = 0

        def work(s: Session | CoreSession) -> tuple[MessagePublic, ConversationPublic] | None:
            nonlocal attempts
            attempts += 1
            # Another turn that answered ``stored`` first holds its reply key: this unit of work
            # then fails on the key's unique constraint (nothing of it is stored) and runs
            # again, and this check returns None. Read only then: one statement less a turn.
            if attempts > 1 and keyed_message_id(s, conv_id, key) is not None:
                return None
            changes = dict(values or {})
            if memory is not None:
                kept = conversation_memory(s, conv_id)
                changes["memory"] = {**kept, "bot": memory.model_dump(mode="json")}
            # Conditional on the state, atomic on SQLite and PostgreSQL: a claim that won wins.
            # The reply ends the wait for it (the sweeper's marker; add_message needs no UPDATE).
            changes.update(updated_at=utcnow(), waiting_since=None)
            conv = claim_conversation(s, conv_id, BOT_STATES, changes)
            if conv is None:
                return None
            # The claim's UPDATE holds the conversation's row lock until the commit.
            msg = add_message(s, conv, Author.bot, text, {**meta, "reply_to": stored.id}, locked=True)
            add_key(s, conv_id, key, msg.id)
            if extra is not None:
                assert isinstance(s, Session)  # run below in an ORM session
                extra(s)
                s.flush()
            return message_public(msg), conversation_public(conv)

        try:
            if extra is None:  # Core statements only: no ORM session (docs/operations.md, "CPU per turn")
                return self.services.store.run_core(tenant, work, retry_conflicts=True)
            return self.services.store.run(tenant, work, retry_conflicts=True)
        except StoreUnavailable as exc:
            # The retries were used up (by transient errors, or a single attempt configured):
            # a turn that lost the race to another one is "not stored", not a database fault.
            if isinstance(exc.__cause__, IntegrityError) and self._answered(tenant, conv_id, stored.id):
                return None
            raise

    def _not_stored(self, tenant: str, conv_id: str, stored: MessagePublic) -> TurnResult:
        """The turn's reply was not stored: an agent took over (nothing of it is sent), or
        another request answered this message first (its replies are returned)."""
        with self.services.store.session(tenant) as s:
            conv = get_conversation(s, conv_id)
            replies = [
                message_public(m)
                for m in s.scalars(
                    select(Message).where(Message.conversation_id == conv_id, Message.seq > stored.seq)
                )
                if (m.meta or {}).get("reply_to") == stored.id
            ]
            conv_out = conversation_public(conv)
        if conv_out.state not in BOT_STATES and not replies:
            self._publish(tenant, conv_id, "turn_cancelled", {"message_seq": stored.seq})
        return TurnResult(conversation=conv_out, message=stored, replies=replies)

    def _refuse(
        self, principal: Principal, conv_id: str, text: str, detail: dict[str, object], stored: MessagePublic
    ) -> TurnResult:
        tenant = principal.tenant_id

        def log_it(s: Session) -> None:
            audit(s, principal.actor, "guardrail.injection_blocked", conv_id, **detail)

        done = self._store_bot_message(
            tenant, conv_id, stored, text, {"kind": "refusal", "mode": "guardrail"}, extra=log_it
        )
        if done is None:
            return self._not_stored(tenant, conv_id, stored)
        out, conv_out = done
        self._publish(tenant, conv_id, "message", out.model_dump(mode="json"))
        return TurnResult(conversation=conv_out, message=stored, replies=[out])

    def _filter_reply(
        self, principal: Principal, conv_id: str, reply: BotReply, hosts: frozenset[str], question: str
    ) -> BotReply:
        """Output filter on the final answer: a blocked answer falls back to the extractive
        answer (filtered too) or a safe reply; every intervention is audited. A citation whose
        URL is off the tenant's link allow-list (``allowed_link_hosts``, else its help center's
        host) keeps its title and loses its link."""
        reply.citations = _linkable(reply.citations, hosts)
        passages = reply.answer.passages if reply.answer else []
        allowed = hosts | allowed_hosts_for({}, [p.url for p in passages])
        result = filter_output(reply.text, allowed, None)
        if not result.changed:
            return reply
        text, mode, citations = result.text, reply.mode, reply.citations
        if result.blocked:
            mode, citations = "filtered", []
            if passages:
                # composed as the reply was: the tenant's today, currency and locale
                settings = reply.answer.settings if reply.answer else None
                extractive = self.services.answerer.extractive(question, passages, settings)
                again = filter_output(extractive.text, allowed, None)
                if extractive.text and not again.blocked:
                    text, mode, citations = again.text, "extractive", _linkable(extractive.citations, hosts)
        with self.services.store.session(principal.tenant_id) as s:
            audit(s, "bot", "guardrail.output_filtered", conv_id, reasons=list(result.reasons))
        reply.text, reply.mode, reply.citations = text, mode, citations
        return reply

    def _watch(self, tenant: str, conv_id: str, taken_over: Any) -> TakeoverWatch:
        def read_state() -> str | None:
            with self.services.store.session(tenant) as s:
                return s.scalar(select(Conversation.state).where(Conversation.id == conv_id))

        return TakeoverWatch(taken_over, read_state, bot_states=BOT_STATES)

    def _bot_turn(
        self,
        principal: Principal,
        conv_id: str,
        turns: list[Turn],
        customer_id: str | None,
        memory: BotMemory,
        stored: MessagePublic,
    ) -> TurnResult:
        tenant = principal.tenant_id
        with self.services.turns.turn(conv_id, stored.id) as taken_over:
            watch = self._watch(tenant, conv_id, taken_over)

            def publish_token(piece: str) -> None:
                if watch():
                    return  # takeover: not one more token
                try:
                    self.services.bus.publish(
                        customer_topic(tenant, conv_id),
                        Event(type="token", tenant_id=tenant, conversation_id=conv_id, data={"text": piece}),
                    )
                except Exception:  # noqa: BLE001  (a lost token is shown with the stored answer anyway)
                    log.debug("streaming a token of %s failed", conv_id, exc_info=True)

            # trust: tokens stream only while the answer passes the output filter (bot/output_filter.py)
            hosts = allowed_hosts_for(self.services.store.tenant_config(tenant))
            on_token = StreamGuard(publish_token, hosts, None)
            try:
                # Every model call of this turn shares one deadline and stops on a takeover.
                with model_budget(
                    self.services.settings.model_timeout_s, cancelled=watch, idle=self.services.compute.idle
                ):
                    reply: BotReply = self.services.bot.respond(
                        tenant,
                        turns,
                        customer_id=customer_id,
                        memory=memory,
                        on_token=on_token,
                        conversation_id=conv_id,
                    )
            except HandoffRequired as handoff:
                return self._apply_handoff(
                    principal, conv_id, handoff.brief, memory, stored, handoff.customer_message or HANDOFF_TEXT
                )
            if watch():
                return self._not_stored(tenant, conv_id, stored)
            reply = self._filter_reply(principal, conv_id, reply, hosts, stored.text)
            on_token.close()
            meta = {
                "citations": [c.model_dump(mode="json") for c in reply.citations],
                "grounding": reply.grounding,
                "kind": reply.kind,
                "mode": reply.mode,
                "intent": reply.intent,
                "action": reply.action,
                "action_call": reply.action_call,  # name, status, args, awaiting, executed (bot/actions)
            }
            values = {"state": reply.state.conversation_state.value}  # the bot's state machine (bot/state.py)
            done = self._store_bot_message(tenant, conv_id, stored, reply.text, meta, values=values, memory=memory)
        if done is None:
            return self._not_stored(tenant, conv_id, stored)
        out, conv_out = done
        self._publish(tenant, conv_id, "message", out.model_dump(mode="json"))
        return TurnResult(conversation=conv_out, message=stored, replies=[out])

    def _apply_handoff(
        self,
        principal: Principal,
        conv_id: str,
        brief: HandoffBrief,
        memory: BotMemory,
        stored: MessagePublic,
        text: str = HANDOFF_TEXT,
    ) -> TurnResult:
        tenant = principal.tenant_id
        made: list[HandoffPublic] = []

        def record(s: Session) -> None:
            handoff = Handoff(
                conversation_id=conv_id,
                reason=brief.reason.value,
                queue=brief.queue,
                priority=brief.priority,
                brief=brief.model_dump(mode="json"),
            )
            s.add(handoff)
            audit(s, "bot", "conversation.handoff", conv_id, reason=brief.reason.value, queue=brief.queue)
            s.flush()
            made.append(handoff_public(handoff))

        values = {"state": ConversationState.handoff_pending.value, "queue": brief.queue, "priority": brief.priority}
        done = self._store_bot_message(
            tenant, conv_id, stored, text, {"kind": "handoff"}, values=values, memory=memory, extra=record
        )
        if done is None:  # an agent has it already, or another request handed it off
            return self._not_stored(tenant, conv_id, stored)
        out, conv_out = done
        self._publish_queue(tenant, conv_out)
        self._publish(tenant, conv_id, "message", out.model_dump(mode="json"))
        self._publish(tenant, conv_id, "handoff", made[-1].model_dump(mode="json"), customer=False)
        try:
            self.services.live_assist.publish_summary(tenant, conv_id)  # rolling summary at handoff
        except Exception:  # noqa: BLE001  (the handoff is stored; the summary is best effort)
            log.exception("queueing the handoff summary of %s failed", conv_id)
        self._publish(tenant, conv_id, "state", {"state": conv_out.state}, customer=True)
        return TurnResult(conversation=conv_out, message=stored, replies=[out], handoff=brief)

    # -- messages left without a reply (server/sweeper.py) ------------------------------------

    def answer_unanswered(self, tenant: str, conv_id: str, message_id: str) -> bool:
        """Answer a stored customer message that never got its turn (a crash, a dependency
        fault), or hand it off when the turn fails again. Returns True when a reply was
        stored now. Does nothing when the conversation is no longer the bot's, a later
        message exists, or another worker answered it."""
        with self.services.store.session(tenant) as s:
            conv = get_conversation(s, conv_id)
            msg = s.get(Message, message_id)
            if msg is None or conv.state not in BOT_STATES or msg.author != Author.customer.value:
                return False
            last = s.scalar(select(Message.id).where(Message.conversation_id == conv_id).order_by(Message.seq.desc()))
            if last != message_id:
                return False
            principal = Principal(Role.customer, tenant, conv.customer_id, visitor_id=conv.visitor_id)
            stored = self._snapshot(s, conv, msg, existing=True)
        if self._answered(tenant, conv_id, message_id) or self.services.turns.in_flight(message_id):
            return False
        result = self._answer(principal, conv_id, stored)
        if result.replies:
            return True
        if not result.pending:
            return False
        brief = HandoffBrief(
            summary=f"The assistant could not answer the customer's last message because of a technical fault: "
            f"{stored.message.text[:300]}",
            reason=HandoffReason.no_answer,
            reason_detail="technical_fault",
            language=stored.conversation.language,
        )
        handed = self._apply_handoff(principal, conv_id, brief, stored.memory, stored.message, FAULT_HANDOFF_TEXT)
        return bool(handed.replies)

    # -- agent side ----------------------------------------------------------------------

    def queue(self, principal: Principal, states: list[str] | None = None) -> list[ConversationPublic]:
        wanted = states or [ConversationState.handoff_pending.value, ConversationState.human.value]
        with self.services.store.session(principal.tenant_id) as s:
            rows = s.scalars(
                select(Conversation).where(Conversation.state.in_(wanted)).order_by(Conversation.updated_at.desc())
            )
            return [conversation_public(c) for c in rows]

    def handoffs(self, principal: Principal, conv_id: str) -> list[HandoffPublic]:
        with self.services.store.session(principal.tenant_id) as s:
            get_conversation(s, conv_id)
            rows = s.scalars(select(Handoff).where(Handoff.conversation_id == conv_id).order_by(Handoff.created_at))
            return [handoff_public(h) for h in rows]

    def claim(self, principal: Principal, conv_id: str) -> ConversationPublic:
        with self.services.store.session(principal.tenant_id) as s:
            conv = get_conversation(s, conv_id)
            if conv.state == ConversationState.closed.value:
                raise Conflict("This conversation is closed.")
            conv.state = ConversationState.human.value
            conv.assigned_agent = principal.actor
            conv.waiting_since = None  # an agent answers now, not the bot (server/sweeper.py)
            audit(s, principal.actor, "conversation.claim", conv.id)
            s.flush()
            out = conversation_public(conv)
        self.services.turns.take_over(conv_id)  # a turn in flight here stops at once (others: server/turns.py)
        self._publish_queue(principal.tenant_id, out)
        self._publish(principal.tenant_id, conv_id, "state", {"state": out.state, "agent": principal.actor})
        return out

    def agent_reply(self, principal: Principal, conv_id: str, text: str) -> MessagePublic:
        self.check_length(text)
        text = self.services.redactor(text)  # trust: agents' replies are redacted at the door too
        with self.services.store.session(principal.tenant_id) as s:
            conv = get_conversation(s, conv_id)
            if conv.state == ConversationState.closed.value:
                raise Conflict("This conversation is closed.")
            if conv.state != ConversationState.human.value:
                conv.state = ConversationState.human.value  # replying takes the conversation over
                conv.assigned_agent = principal.actor
            msg = add_message(s, conv, Author.agent, text, {"agent": principal.actor})
            out = message_public(msg)
        self.services.turns.take_over(conv_id)  # replying takes over: no bot text from a turn in flight
        self._publish(principal.tenant_id, conv_id, "message", out.model_dump(mode="json"))
        return out

    def hand_back(self, principal: Principal, conv_id: str) -> ConversationPublic:
        with self.services.store.session(principal.tenant_id) as s:
            conv = get_conversation(s, conv_id)
            if conv.state == ConversationState.closed.value:
                raise Conflict("This conversation is closed.")
            conv.state = ConversationState.bot.value
            conv.assigned_agent = None
            memory = BotMemory.model_validate(conv.memory.get("bot", {}))
            memory.hand_back(turns_of(list_messages(s, conv.id)))  # the bot's next turns see what the agent said
            conv.memory = {**conv.memory, "bot": memory.model_dump(mode="json"), "handed_back": True}
            add_message(
                s, conv, Author.system, "The conversation was handed back to the assistant.", {"kind": "handback"}
            )
            audit(s, principal.actor, "conversation.handback", conv.id)
            s.flush()
            out = conversation_public(conv)
        self._publish_queue(principal.tenant_id, out)
        self._publish(principal.tenant_id, conv_id, "state", {"state": out.state})
        return out

    def close(self, principal: Principal, conv_id: str) -> ConversationPublic:
        with self.services.store.session(principal.tenant_id) as s:
            conv = get_conversation(s, conv_id)
            was_closed = conv.state == ConversationState.closed.value
            conv.state = ConversationState.closed.value
            conv.closed_at = utcnow()
            conv.waiting_since = None
            audit(s, principal.actor, "conversation.close", conv.id)
            s.flush()
            out = conversation_public(conv)
        self._publish_queue(principal.tenant_id, out)
        self._publish(principal.tenant_id, conv_id, "state", {"state": out.state})
        if not was_closed:
            self._wrap_up(principal, conv_id)
        return out

    def _wrap_up(self, principal: Principal, conv_id: str) -> None:
        """After-contact summary into the CRM history; a KB draft when the KB had no answer."""
        try:
            done = self.services.wrapup.wrap_up(principal.tenant_id, conv_id, principal.actor)
        except Exception:  # the conversation is closed either way; the summary is best effort
            log.exception("after-contact summary failed for %s", conv_id)
            return
        self._publish(principal.tenant_id, conv_id, "after_contact", done.model_dump(mode="json"), customer=False)

    def suggest_for_agent(self, tenant: str, conv_id: str, message_seq: int | None = None) -> LiveJob:
        """Non-blocking: KB suggestions, CRM facts, next action and sentiment are pushed first,
        suggested replies after; work for a message is dropped once a newer one arrives."""
        return self.services.live_assist.submit(tenant, conv_id, message_seq)


def _linkable(citations: list[Citation], hosts: frozenset[str]) -> list[Citation]:
    """``citations`` with the links off the allow-list ``hosts`` dropped (none dropped when the
    tenant has no allow-list and no help-center URL: nothing to check against)."""
    if not hosts:
        return citations
    return [
        c if not c.url or host_allowed(urlsplit(c.url).hostname or "", hosts) else c.model_copy(update={"url": ""})
        for c in citations
    ]
