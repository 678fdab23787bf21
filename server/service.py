"""Conversation orchestration: store a message (committed before it is acknowledged),
publish events, run the bot turn or the copilot, apply handoffs and hand-backs.

This is the only place that drives both ``bot`` and ``copilot``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.errors import HandoffRequired
from bot.guardrails import refusal_text, screen_input
from bot.tenant import load_policy
from bot.output_filter import StreamGuard, allowed_hosts_for, filter_output
from bot.policy import BotMemory, BotReply
from copilot.live import LiveJob
from core.db.conversations import (
    add_message,
    audit,
    create_conversation,
    get_conversation,
    list_messages,
    turns_of,
)
from core.db.schema import Conversation, Handoff, Message, utcnow
from core.errors import Conflict, Forbidden, PayloadTooLarge
from core.events import Event, agent_topic, customer_topic, queue_topic
from core.types import Author, ConversationState, HandoffBrief
from server.auth import Principal, Role
from server.container import Services
from server.schemas import ConversationPublic, HandoffPublic, MessagePublic, TurnResult

log = logging.getLogger("switchboard.conversations")

HANDOFF_TEXT = (
    "I'm connecting you with a member of our team now. "
    "They'll see everything we've discussed, so you won't need to repeat yourself."
)


def message_public(m: Message) -> MessagePublic:
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


def conversation_public(c: Conversation) -> ConversationPublic:
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


@dataclass
class ConversationService:
    services: Services

    # -- helpers -------------------------------------------------------------------------

    def _publish(
        self, tenant: str, conv_id: str, type_: str, data: dict[str, object], *, customer: bool = True
    ) -> None:
        event = Event(type=type_, tenant_id=tenant, conversation_id=conv_id, data=data)
        bus = self.services.bus
        bus.publish(agent_topic(tenant, conv_id), event)
        if customer:
            bus.publish(customer_topic(tenant, conv_id), event)

    def _publish_queue(self, tenant: str, conv: Conversation) -> None:
        self.services.bus.publish(
            queue_topic(tenant),
            Event(
                type="queue",
                tenant_id=tenant,
                conversation_id=conv.id,
                data=conversation_public(conv).model_dump(mode="json"),
            ),
        )

    def check_access(self, principal: Principal, conv: Conversation) -> None:
        if principal.role != Role.customer:
            return
        owner_ok = (
            conv.customer_id == principal.customer_id
            if conv.customer_id is not None
            else principal.customer_id is None and conv.visitor_id == principal.visitor_id
        )
        if not owner_ok:
            raise Forbidden("This conversation belongs to someone else")

    def check_length(self, text: str) -> None:
        limit = self.services.settings.max_message_chars
        if len(text) > limit:
            raise PayloadTooLarge(f"The message has {len(text)} characters; the limit is {limit}.")

    # -- customer side ---------------------------------------------------------------------

    def start(self, principal: Principal, language: str = "en") -> ConversationPublic:
        with self.services.store.session(principal.tenant_id) as s:
            conv = create_conversation(s, principal.customer_id, language=language)
            conv.visitor_id = principal.visitor_id
            audit(s, principal.actor, "conversation.start", conv.id)
            out = conversation_public(conv)
        return out

    def get(self, principal: Principal, conv_id: str) -> tuple[ConversationPublic, list[MessagePublic]]:
        with self.services.store.session(principal.tenant_id) as s:
            conv = get_conversation(s, conv_id)
            self.check_access(principal, conv)
            return conversation_public(conv), [message_public(m) for m in list_messages(s, conv_id)]

    def post_customer_message(self, principal: Principal, conv_id: str, text: str) -> TurnResult:
        self.check_length(text)
        limits = self.services.limits  # trust: 429 before anything is stored (server/limits.py)
        limits.check_message(principal.tenant_id, principal.visitor_id or principal.customer_id or conv_id)
        with limits.model.slot():
            return self._post_customer_message(principal, conv_id, self.services.redactor(text))

    def _post_customer_message(self, principal: Principal, conv_id: str, text: str) -> TurnResult:
        tenant = principal.tenant_id  # text is already redacted at the door
        with self.services.store.session(tenant) as s:
            conv = get_conversation(s, conv_id)
            self.check_access(principal, conv)
            if conv.state == ConversationState.closed.value:
                raise Conflict("This conversation is closed; start a new one.")
            msg = add_message(s, conv, Author.customer, text)
            stored = message_public(msg)
            state = conv.state
            memory = BotMemory.model_validate(conv.memory.get("bot", {}))
            turns = turns_of(list_messages(s, conv_id))
            customer_id = conv.customer_id
        # Committed: acknowledge it to everyone watching.
        self._publish(tenant, conv_id, "message", stored.model_dump(mode="json"))
        if state in (ConversationState.human.value, ConversationState.handoff_pending.value):
            self.suggest_for_agent(tenant, conv_id, stored.seq)
            conv_out, _ = self.get(principal, conv_id)
            return TurnResult(conversation=conv_out, message=stored, replies=[])
        screen = screen_input(text)
        if screen.flagged:  # trust: a direct injection gets a safe reply, audited; no model, no handoff
            scope = load_policy(self.services.store, tenant).scope
            return self._refuse(principal, conv_id, refusal_text(scope), screen.audit_detail(), stored)
        return self._bot_turn(principal, conv_id, turns, customer_id, memory, stored)

    def _refuse(
        self, principal: Principal, conv_id: str, text: str, detail: dict[str, object], stored: MessagePublic
    ) -> TurnResult:
        tenant = principal.tenant_id
        with self.services.store.session(tenant) as s:
            conv = get_conversation(s, conv_id)
            bot_msg = add_message(s, conv, Author.bot, text, {"kind": "refusal", "mode": "guardrail"})
            audit(s, principal.actor, "guardrail.injection_blocked", conv_id, **detail)
            out = message_public(bot_msg)
            conv_out = conversation_public(conv)
        self._publish(tenant, conv_id, "message", out.model_dump(mode="json"))
        return TurnResult(conversation=conv_out, message=stored, replies=[out])

    def _filter_reply(
        self, principal: Principal, conv_id: str, reply: BotReply, hosts: frozenset[str], question: str
    ) -> BotReply:
        """Output filter on the final answer: a blocked answer falls back to the extractive
        answer (filtered too) or a safe reply; every intervention is audited."""
        passages = reply.answer.passages if reply.answer else []
        allowed = hosts | allowed_hosts_for({}, [p.url for p in passages])
        result = filter_output(reply.text, allowed, None)
        if not result.changed:
            return reply
        text, mode, citations = result.text, reply.mode, reply.citations
        if result.blocked:
            mode, citations = "filtered", []
            if passages:
                extractive = self.services.answerer.extractive(question, passages)
                again = filter_output(extractive.text, allowed, None)
                if extractive.text and not again.blocked:
                    text, mode, citations = again.text, "extractive", extractive.citations
        with self.services.store.session(principal.tenant_id) as s:
            audit(s, "bot", "guardrail.output_filtered", conv_id, reasons=list(result.reasons))
        reply.text, reply.mode, reply.citations = text, mode, citations
        return reply

    def _bot_turn(
        self,
        principal: Principal,
        conv_id: str,
        turns: list,  # type: ignore[type-arg]
        customer_id: str | None,
        memory: BotMemory,
        stored: MessagePublic,
    ) -> TurnResult:
        tenant = principal.tenant_id

        def publish_token(piece: str) -> None:
            self.services.bus.publish(
                customer_topic(tenant, conv_id),
                Event(type="token", tenant_id=tenant, conversation_id=conv_id, data={"text": piece}),
            )

        # trust: tokens stream only while the answer passes the output filter (bot/output_filter.py)
        hosts = allowed_hosts_for(self.services.store.tenant_config(tenant))
        on_token = StreamGuard(publish_token, hosts, None)

        try:
            reply: BotReply = self.services.bot.respond(
                tenant, turns, customer_id=customer_id, memory=memory, on_token=on_token, conversation_id=conv_id
            )
        except HandoffRequired as handoff:
            return self._apply_handoff(
                principal, conv_id, handoff.brief, memory, stored, handoff.customer_message or HANDOFF_TEXT
            )
        reply = self._filter_reply(principal, conv_id, reply, hosts, stored.text)
        on_token.close()
        with self.services.store.session(tenant) as s:
            conv = get_conversation(s, conv_id)
            conv.memory = {**conv.memory, "bot": memory.model_dump(mode="json")}
            conv.state = reply.state.conversation_state.value  # the bot's state machine (bot/state.py)
            bot_msg = add_message(
                s,
                conv,
                Author.bot,
                reply.text,
                {
                    "citations": [c.model_dump(mode="json") for c in reply.citations],
                    "grounding": reply.grounding,
                    "kind": reply.kind,
                    "mode": reply.mode,
                    "intent": reply.intent,
                    "action": reply.action,
                    "action_call": reply.action_call,  # name, status, args, awaiting, executed (bot/actions)
                },
            )
            out = message_public(bot_msg)
            conv_out = conversation_public(conv)
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
        with self.services.store.session(tenant) as s:
            conv = get_conversation(s, conv_id)
            conv.state = ConversationState.handoff_pending.value
            conv.queue = brief.queue
            conv.priority = brief.priority
            conv.memory = {**conv.memory, "bot": memory.model_dump(mode="json")}
            handoff = Handoff(
                conversation_id=conv.id,
                reason=brief.reason.value,
                queue=brief.queue,
                priority=brief.priority,
                brief=brief.model_dump(mode="json"),
            )
            s.add(handoff)
            sys_msg = add_message(s, conv, Author.bot, text, {"kind": "handoff"})
            audit(s, "bot", "conversation.handoff", conv.id, reason=brief.reason.value, queue=brief.queue)
            s.flush()
            out = message_public(sys_msg)
            conv_out = conversation_public(conv)
            handoff_out = handoff_public(handoff)
            self._publish_queue(tenant, conv)
        self._publish(tenant, conv_id, "message", out.model_dump(mode="json"))
        self._publish(tenant, conv_id, "handoff", handoff_out.model_dump(mode="json"), customer=False)
        self.services.live_assist.publish_summary(tenant, conv_id)  # rolling summary at handoff
        self._publish(tenant, conv_id, "state", {"state": conv_out.state}, customer=True)
        return TurnResult(conversation=conv_out, message=stored, replies=[out], handoff=brief)

    # -- agent side ----------------------------------------------------------------------

    def queue(self, principal: Principal, states: list[str] | None = None) -> list[ConversationPublic]:
        from sqlalchemy import select

        wanted = states or [ConversationState.handoff_pending.value, ConversationState.human.value]
        with self.services.store.session(principal.tenant_id) as s:
            rows = s.scalars(
                select(Conversation).where(Conversation.state.in_(wanted)).order_by(Conversation.updated_at.desc())
            )
            return [conversation_public(c) for c in rows]

    def handoffs(self, principal: Principal, conv_id: str) -> list[HandoffPublic]:
        from sqlalchemy import select

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
            audit(s, principal.actor, "conversation.claim", conv.id)
            out = conversation_public(conv)
            self._publish_queue(principal.tenant_id, conv)
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
            out = conversation_public(conv)
            self._publish_queue(principal.tenant_id, conv)
        self._publish(principal.tenant_id, conv_id, "state", {"state": out.state})
        return out

    def close(self, principal: Principal, conv_id: str) -> ConversationPublic:
        with self.services.store.session(principal.tenant_id) as s:
            conv = get_conversation(s, conv_id)
            was_closed = conv.state == ConversationState.closed.value
            conv.state = ConversationState.closed.value
            conv.closed_at = utcnow()
            audit(s, principal.actor, "conversation.close", conv.id)
            out = conversation_public(conv)
            self._publish_queue(principal.tenant_id, conv)
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
