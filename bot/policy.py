"""The bot's turn policy: given the conversation so far, answer, clarify, act, or hand off.

Order of checks for one customer turn (each a typed step of the state machine in
``bot.state``): silent when a human owns the conversation → language → a pending action's
yes/no → sensitive topic → explicit request → frustration → repetition → small talk →
self-service action → clarify → grounded answer (or abstain; no answer twice hands off).
A handoff outside business hours opens a ticket and offers a callback or e-mail instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.actions import ActionContext, ActionOutcome, ActionRunner
from bot.actions.detect import requested_action
from bot.answer import Answer, GroundedAnswerer
from bot.brief import build_brief
from bot.catalog import IntentCatalog
from bot.clarify import needs_clarification
from bot.compose import ComposeSettings
from bot.errors import HandoffRequired
from bot.intents import IntentPrediction
from bot.language import NAMES, detect_language
from bot.replies import ABSTAIN, DENY, GOODBYE, GREET, HANDOFF, SEE_ALL, THANKS, after_hours
from bot.routing import SMALLTALK, Router
from bot.state import BotMemory, BotState, TurnKind
from bot.tenant import TenantPolicy, load_policy
from bot.triggers import RepetitionDetector, explicit_request, frustrated, sensitive_topic, sentiment
from core.models.embed import Embedder
from core.tenancy.actions import ActionSpec
from core.types import Author, Citation, HandoffReason, Turn
from knowledge.context import PUBLIC, ContextBuilder
from knowledge.rewrite import needs_context, rewrite_query
from prompts.loader import PromptLoader

__all__ = ["Bot", "BotMemory", "BotReply", "BotState", "TurnKind"]

_YES = re.compile(r"^\s*(yes|yeah|yep|yup|sure|ok|okay|please do|go ahead|do it|confirm\w*|correct|y|ja)\b", re.I)
_NO = re.compile(r"^\s*(no|nope|nah|don't|do not|cancel that|never ?mind|stop|n)\b", re.I)


def _actions(policy: TenantPolicy) -> list[ActionSpec]:
    return list(policy.config.actions) if policy.config is not None else []


@dataclass
class BotReply:
    text: str
    kind: str  # a TurnKind value
    citations: list[Citation] = field(default_factory=list)
    grounding: float | None = None
    mode: str = ""
    answer: Answer | None = None
    state: BotState = BotState.answering
    intent: str | None = None
    action: str | None = None
    action_call: dict[str, object] | None = None  # ActionOutcome.meta(): name, status, args, awaiting, executed


@dataclass
class _Turn:
    """Everything one turn's steps share."""

    tenant_id: str
    customer_id: str | None
    conversation_id: str
    now: datetime
    policy: TenantPolicy
    turns: list[Turn]
    memory: BotMemory
    last: str
    customer_texts: list[str]
    prediction: IntentPrediction | None


def _is_yes(text: str, prediction: IntentPrediction | None) -> bool:
    if _NO.match(text):
        return False
    return bool(_YES.match(text)) or (prediction is not None and prediction.intent == "affirm")


def _is_no(text: str, prediction: IntentPrediction | None) -> bool:
    return bool(_NO.match(text)) or (prediction is not None and prediction.intent == "deny")


@dataclass
class Bot:
    context: ContextBuilder
    answerer: GroundedAnswerer
    actions: ActionRunner
    embedder: Embedder
    prompts: PromptLoader
    intents: IntentCatalog | None = None
    router: Router = field(default_factory=Router)
    model_languages: frozenset[str] | None = frozenset({"en"})  # None: whatever the tenant lists
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    low_grounding: float = 0.45  # an extractive answer below this counts towards "no answer twice"
    smalltalk_confidence: float = 0.6  # a canned "you're welcome" to a real question is worse than a KB answer

    def describe(self) -> dict[str, object]:
        return {
            "answerer": {"grounding_threshold": self.answerer.config.grounding_threshold},
            "intents": self.intents.describe() if self.intents else None,
            "model_languages": sorted(self.model_languages) if self.model_languages else "tenant",
            "low_grounding": self.low_grounding,
        }

    # -- entry point ---------------------------------------------------------------------

    def respond(
        self,
        tenant_id: str,
        turns: list[Turn],
        *,
        customer_id: str | None,
        memory: BotMemory,
        on_token: Callable[[str], None] | None = None,
        conversation_id: str = "",
        now: datetime | None = None,
    ) -> BotReply:
        """One bot turn. Raises ``HandoffRequired`` (with the brief) when a human must take over."""
        if memory.state.silent:
            return BotReply("", TurnKind.silent.value, state=memory.state)
        recent = turns[memory.since_turn :]
        customer_texts = [t.text for t in recent if t.author == Author.customer and t.text.strip()]
        last = customer_texts[-1] if customer_texts else ""
        clf = self.intents.for_tenant(tenant_id) if self.intents else None
        prediction = clf.predict(last) if clf is not None and last else None
        t = _Turn(
            tenant_id,
            customer_id,
            conversation_id,
            now or self.clock(),
            load_policy(self.context.store, tenant_id),
            turns,
            memory,
            last,
            customer_texts,
            prediction,
        )
        memory.topic_intent = self.router.topic(prediction, last, memory.topic_intent)
        was = memory.state
        if was is BotState.handed_back:
            memory.move(BotState.answering)
        if was is BotState.awaiting_confirmation and memory.pending is not None:
            # Answers to our own question (yes/no, an address, which order) come before the
            # language check: an address or an order number says nothing about the language.
            reply = self._continue_action(t)
            if reply is not None:
                return reply
        self._check_language(t)
        if was is BotState.awaiting_confirmation or was is BotState.clarifying:
            memory.move(BotState.answering)
        self._check_triggers(t)
        intent = prediction.intent if prediction else None
        sure = prediction is not None and prediction.confidence >= self.smalltalk_confidence
        if (intent in SMALLTALK and sure) or (intent == "deny" and memory.offered_human):
            return self._smalltalk(t, intent or "")
        spec = self._requested_action(t)
        if spec is not None:
            return self._start_action(t, spec)
        return self._answer(t, on_token, clarify=was is not BotState.clarifying)

    # -- steps ---------------------------------------------------------------------------

    def _supported(self, policy: TenantPolicy) -> frozenset[str]:
        return policy.languages if self.model_languages is None else policy.languages & self.model_languages

    def _check_language(self, t: _Turn) -> None:
        detected = detect_language(t.last)
        if (
            detected.code
            and detected.code != t.memory.language
            and (detected.code == "en" or detected.confidence >= 0.9)
        ):
            t.memory.language = detected.code
        if t.memory.language not in self._supported(t.policy):
            name = NAMES.get(t.memory.language, t.memory.language)
            self._handoff(t, HandoffReason.unsupported_language, f"the customer writes {name} ({t.memory.language})")

    def _check_triggers(self, t: _Turn) -> None:
        cfg, mem = t.policy.triggers, t.memory
        if cfg.sensitive_topics and (topic := sensitive_topic(t.last)):
            self._handoff(t, HandoffReason.sensitive_topic, topic.replace("_", " "))
        wants_human = explicit_request(t.last) or (t.prediction is not None and t.prediction.intent == "speak_to_human")
        accepts_offer = mem.offered_human and _is_yes(t.last, t.prediction) and len(t.last.split()) <= 4
        if cfg.explicit_request and (wants_human or accepts_offer):
            self._handoff(t, HandoffReason.explicit_request, "the customer asked for a person")
        if cfg.frustration and frustrated(t.customer_texts, cfg.frustration_threshold):
            self._handoff(t, HandoffReason.frustration, "negative, frustrated messages")
        if cfg.repetition:
            detector = RepetitionDetector(self.embedder, cfg.repeat_similarity)
            mem.repeat_streak = mem.repeat_streak + 1 if detector.is_repeat(t.customer_texts) else 0
            if mem.repeat_streak >= cfg.repeat_limit:
                self._handoff(t, HandoffReason.repetition, f"asked the same thing {mem.repeat_streak + 1} times")

    def _reply(self, t: _Turn, text: str, kind: TurnKind, **extra: object) -> BotReply:
        t.memory.offered_human = kind is TurnKind.abstain
        intent = t.prediction.intent if t.prediction else None
        return BotReply(text, kind.value, state=t.memory.state, intent=intent, **extra)  # type: ignore[arg-type]

    def _smalltalk(self, t: _Turn, intent: str) -> BotReply:
        greet = t.policy.greeting or GREET.format(bot=t.policy.bot_name)
        text = {"greet": greet, "thanks": THANKS, "goodbye": GOODBYE}.get(intent, DENY)
        return self._reply(t, text, TurnKind.smalltalk)

    # -- actions -------------------------------------------------------------------------

    def _requested_action(self, t: _Turn) -> ActionSpec | None:
        """The tenant's action the customer's own message asks for (``bot.actions.detect``);
        text from the KB or CRM never reaches this."""
        return requested_action(t.prediction, _actions(t.policy), t.last)

    def _action_context(self, t: _Turn) -> ActionContext:
        tz = t.policy.config.timezone if t.policy.config is not None else "UTC"
        return ActionContext(t.tenant_id, t.customer_id, t.conversation_id, t.now, tz, t.policy.currency)

    def _outcome(self, t: _Turn, out: ActionOutcome) -> BotReply:
        mem = t.memory
        mem.note(f"action {out.action}: {out.status}" + (f" ({out.target})" if out.target else ""))
        mem.pending = out.pending
        if out.pending is not None:
            mem.move(BotState.awaiting_confirmation)
        elif mem.state is BotState.awaiting_confirmation:
            mem.move(BotState.answering)
        if out.failure is not None:
            args = ", ".join(f"{k}={v}" for k, v in out.args.items())
            detail = f"action {out.action} failed ({out.failure.kind}): {out.failure.detail}" + (
                f"; parameters: {args}" if args else ""
            )
            self._handoff(t, HandoffReason.action_failed, detail, message=out.text)
        return self._reply(t, out.text, TurnKind.act, action=out.action, mode=out.status, action_call=out.meta())

    def _start_action(self, t: _Turn, spec: ActionSpec) -> BotReply:
        return self._outcome(t, self.actions.start(self._action_context(t), spec, t.last))

    def _continue_action(self, t: _Turn) -> BotReply | None:
        """The customer answers our question about a pending action; None: they moved on."""
        mem, pending = t.memory, t.memory.pending
        assert pending is not None
        spec = next((a for a in _actions(t.policy) if a.name == pending.action), None)
        out = None
        if spec is not None:
            yes, no = _is_yes(t.last, t.prediction), _is_no(t.last, t.prediction)
            out = self.actions.resume(self._action_context(t), spec, pending, t.last, yes=yes, no=no)
        if out is not None:
            return self._outcome(t, out)
        mem.pending = None
        mem.note(f"action {pending.action}: dropped (customer moved on)")
        return None

    # -- grounded answers ----------------------------------------------------------------

    def _query(self, t: _Turn) -> str:
        recent = t.turns[t.memory.since_turn :]
        query = rewrite_query(recent)
        if t.memory.human_notes and len(t.customer_texts) == 1 and needs_context(t.last):
            # First question after a hand-back: lean on what the agent just said.
            notes = " ".join(t.memory.human_notes[-1:])
            words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]{3,}", notes) if w.lower() not in query.lower()]
            query = f"{query} {' '.join(words[:8])}".strip()
        return query

    def _answer(self, t: _Turn, on_token: Callable[[str], None] | None, *, clarify: bool) -> BotReply:
        mem = t.memory
        query = self._query(t)
        ctx = self.context.context(
            t.tenant_id, t.turns[mem.since_turn :], customer_id=t.customer_id, visibilities=PUBLIC, query=query
        )
        if clarify:
            history = [x.text for x in t.turns[mem.since_turn : -1] if x.author != Author.system] + mem.human_notes
            wanted = needs_clarification(t.last, history, ctx.passages)
            if wanted is not None:
                mem.move(BotState.clarifying)
                mem.note("asked a clarifying question")
                text = self.prompts.render("clarify", kind=wanted.kind, subject=wanted.subject, options=wanted.options)
                return self._reply(t, text.strip(), TurnKind.clarify, mode="clarify")
        language = NAMES.get(mem.language, "English")
        recent = t.turns[mem.since_turn :]
        answer = self.answerer.answer(
            t.last,
            ctx.passages,
            on_token=on_token,
            language=language,
            company=t.policy.name,
            query=ctx.query or t.last,
            customer=ctx.customer,
            settings=ComposeSettings.for_tenant(t.policy, t.now, mem.language),
            said_before=[x.text for x in recent if x.author == Author.bot],
            customer_said=t.customer_texts[:-1],
        )
        weak = answer.mode == "abstain"  # a composed answer passed the calibrated answerability decision
        mem.note("KB search found nothing" if answer.mode == "abstain" else f"answered from KB ({answer.mode})")
        if weak and t.policy.triggers.no_answer:
            mem.no_answer_streak += 1
            if mem.no_answer_streak >= t.policy.triggers.no_answer_limit:
                self._handoff(t, HandoffReason.no_answer, f"no grounded answer {mem.no_answer_streak} times")
        else:
            mem.no_answer_streak = 0
        if answer.mode == "abstain":
            return self._reply(t, ABSTAIN, TurnKind.abstain, grounding=answer.grounding, mode="abstain", answer=answer)
        mem.cite(answer.citations)
        return self._reply(
            t,
            answer.text,
            TurnKind.answer,
            citations=answer.citations,
            grounding=answer.grounding,
            mode=answer.mode,
            answer=answer,
        )

    # -- handoff -------------------------------------------------------------------------

    def _handoff(self, t: _Turn, reason: HandoffReason, detail: str, *, message: str | None = None) -> None:
        mem, policy = t.memory, t.policy
        original = reason
        facts = self.context.facts(t.tenant_id, t.customer_id)
        queue = self.router.queue(reason, mem.topic_intent, original=original)
        closed = policy.triggers.after_hours and not policy.hours.is_open(t.now)
        if closed:
            reason = HandoffReason.after_hours
            detail = f"outside business hours (trigger: {original.value}, {detail})"
        brief = build_brief(
            t.turns[mem.since_turn :],
            reason,
            detail=detail,
            intent=mem.topic_intent,
            tried=mem.tried[-5:],
            cited=mem.cited[-5:],
            sentiment=sentiment(t.customer_texts),
            language=mem.language,
            customer=facts,
            queue=queue,
            priority=self.router.priority(original, facts),
            notes=mem.human_notes,
        )
        if closed:
            ticket = self.actions.open_ticket(
                t.tenant_id,
                t.customer_id,
                f"Callback or e-mail: {queue} ({original.value})",
                brief.summary,
                t.conversation_id,
            )
            brief = brief.model_copy(update={"reason_detail": f"{detail}; ticket {ticket}"})
            message = after_hours(ticket, policy.hours.next_opening(t.now))
        else:
            message = message or HANDOFF[reason] + SEE_ALL
        mem.handed_off()
        raise HandoffRequired(brief, message)
