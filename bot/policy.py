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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.actions import ActionContext, ActionOutcome, ActionRunner
from bot.actions.detect import requested_action
from bot.answer import Answer, GroundedAnswerer
from bot.brief import build_brief
from bot.catalog import IntentCatalog
from bot.clarify import chosen_query, known_words, needs_clarification, resolved_row
from bot.compose import ComposeSettings
from bot.errors import HandoffRequired
from bot.intents import IntentPrediction
from bot.language import NAMES, detect_language
from bot.others import other_persons_data
from bot.replies import (
    ABSTAIN,
    DENY,
    GOODBYE,
    GREET,
    THANKS,
    after_hours,
    after_hours_queued,
    handoff_message,
    offer_person,
    other_person,
)
from bot.routing import SMALLTALK, Router
from bot.sensitive import SensitiveDetector, SensitiveMatch
from bot.state import BotMemory, BotState, TurnKind
from bot.tenant import TenantPolicies, TenantPolicy
from bot.triggers import (
    RepetitionDetector,
    declines_person,
    explicit_request,
    frustrated,
    reports_failure,
    sentiment,
    without_request,
)
from core.models.embed import Embedder
from core.tenancy.actions import ActionSpec
from core.types import Author, Citation, HandoffReason, Turn
from knowledge.context import PUBLIC, ContextBuilder
from knowledge.rewrite import needs_context, rewrite_query
from prompts.loader import PromptLoader

__all__ = ["Bot", "BotMemory", "BotReply", "BotState", "TurnKind"]

_YES = re.compile(r"^\s*(yes|yeah|yep|yup|sure|ok|okay|please do|go ahead|do it|confirm\w*|correct|y|ja)\b", re.I)
_NO = re.compile(r"^\s*(no|nope|nah|don't|do not|cancel that|never ?mind|stop|n)\b", re.I)


# Asked of the help centre before a cancellation handoff (any company: what leaving costs).
_LEAVING_COST = "What fee do I pay to leave early?"
_DIGIT = re.compile(r"\d")
_COST = re.compile(r"\b(?:fees?|charges?|costs?|penalt\w+|pay|payable)\b", re.IGNORECASE)


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
    sensitive: SensitiveDetector | None = None  # built from the embedder on first use
    policies: TenantPolicies = field(default_factory=TenantPolicies)  # parsed once per configuration

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
            self.policies.load(self.context.store, tenant_id),
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
        early = self._check_triggers(t, on_token)
        if early is not None:
            return early
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

    def _check_triggers(self, t: _Turn, on_token: Callable[[str], None] | None) -> BotReply | None:
        """Hand off (raises), or end the turn with a reply of its own (an emergency answered at
        once, an answer with a person offered, a refusal to discuss another person's account);
        None: go on. Order: sensitive topic → explicit request → another person's data →
        frustration → the given steps did not work → the same question again."""
        cfg, mem = t.policy.triggers, t.memory
        if cfg.sensitive_topics or cfg.cancellation:
            if self.sensitive is None:
                self.sensitive = SensitiveDetector(self.embedder)
            match = self.sensitive.detect(
                t.last,
                t.policy.sensitive_topics if cfg.sensitive_topics else (),
                company=t.policy.name,
                cancellation_enabled=cfg.cancellation,
            )
            if match is not None and (cfg.sensitive_topics or match.key == "cancellation"):
                reply = self._on_sensitive(t, match, on_token)
                if reply is not None:
                    return reply
        wants_human = explicit_request(t.last) or (
            t.prediction is not None and t.prediction.intent == "speak_to_human" and not declines_person(t.last)
        )
        accepts_offer = mem.offered_human and _is_yes(t.last, t.prediction) and len(t.last.split()) <= 4
        if cfg.explicit_request and (wants_human or accepts_offer):
            reason = HandoffReason(mem.offer_reason) if accepts_offer and mem.offer_reason else None
            self._handoff(t, reason or HandoffReason.explicit_request, "the customer asked for a person")
        if (other := other_persons_data(t.last)) is not None:
            return self._decline_other_person(t, other.who)
        if cfg.frustration and frustrated(t.customer_texts, cfg.frustration_threshold):
            self._handoff(t, HandoffReason.frustration, "negative, frustrated messages")
        if cfg.repetition:
            failures = self._failure_reports(t)
            if failures >= cfg.failure_limit:
                self._handoff(t, HandoffReason.repeated_failure, f"the given steps did not work ({failures} reports)")
            detector = RepetitionDetector(self.embedder, cfg.repeat_similarity)
            mem.repeat_streak = mem.repeat_streak + 1 if detector.is_repeat(t.customer_texts) else 0
            if mem.repeat_streak >= cfg.repeat_limit:
                self._handoff(t, HandoffReason.repeated_failure, f"asked the same thing {mem.repeat_streak + 1} times")
        return None

    def _failure_reports(self, t: _Turn) -> int:
        """How many of the customer's messages since the bot's first answer say the steps did
        not work (0 unless the last one says so)."""
        recent = t.turns[t.memory.since_turn :]
        first_bot = next((i for i, x in enumerate(recent) if x.author == Author.bot), None)
        if first_bot is None or not reports_failure(t.last):
            return 0
        after = [x.text for x in recent[first_bot + 1 :] if x.author == Author.customer]
        return sum(reports_failure(x) for x in after)

    def _on_sensitive(self, t: _Turn, match: SensitiveMatch, on_token: Callable[[str], None] | None) -> BotReply | None:
        mem = t.memory
        if match.policy == "emergency":
            mem.note(f"emergency topic {match.key}: answered at once")
            return self._answer(t, on_token, clarify=False)
        if match.policy == "answer_then_offer_handoff":
            reply = self._answer(t, on_token, clarify=False)
            if reply.kind == TurnKind.answer.value:
                reply.text = reply.text.rstrip() + offer_person(mem.language)
            mem.offered_human = True
            mem.offer_reason = match.reason.value
            mem.note(f"sensitive topic {match.key}: answered and offered a person")
            return reply
        preface = self._facts_first(t) if match.reason is HandoffReason.cancellation else ""
        self._handoff(t, match.reason, match.detail, sensitive=match, preface=preface)
        return None  # not reached: _handoff raises

    def _facts_first(self, t: _Turn) -> str:
        """What the help centre (and the customer's own record) says about the cost of leaving,
        said before the handoff; "" when nothing grounded answers it."""
        question = _LEAVING_COST
        mem = t.memory
        ctx = self.context.context(
            t.tenant_id, t.turns[mem.since_turn :], customer_id=t.customer_id, visibilities=PUBLIC, query=question
        )
        known = known_words(ctx.customer)
        if needs_clarification(question, [], ctx.passages, embedder=self.embedder, known=known) is not None:
            return ""  # the cost depends on something we do not know about this customer: no guess
        row = resolved_row(question, ctx.passages, known)
        question = f"{question} ({row})" if row else question
        turns = [*t.turns[:-1], Turn(author=Author.customer, text=question)]
        quiet = replace(
            t,
            last=question,
            turns=turns,
            customer_texts=[*t.customer_texts[:-1], question],
            policy=replace(t.policy, triggers=replace(t.policy.triggers, no_answer=False)),
        )
        reply = self._answer(quiet, None, clarify=False)
        if reply.kind != TurnKind.answer.value or not reply.text.strip():
            return ""
        text = re.sub(r"\s*\[\d{1,2}\]", "", reply.text).strip()
        # Only the fee facts: sentences that state a figure and what it is a cost of.
        facts = [x for x in re.split(r"(?<=[.!?])\s+", text) if _DIGIT.search(x) and _COST.search(x)]
        if not facts:
            return ""
        titles = list(dict.fromkeys(c.title for c in reply.citations if c.title))
        return " ".join(facts) + (f" (Source: {'; '.join(titles[:2])}.)" if titles else "")

    def _decline_other_person(self, t: _Turn, who: str) -> BotReply:
        """Decline a request for another person's account data; offer public help pages."""
        mem = t.memory
        ctx = self.context.context(
            t.tenant_id, t.turns[mem.since_turn :], customer_id=None, visibilities=PUBLIC, query=t.last
        )
        pages = list({p.article_id: p for p in ctx.passages}.values())[:2]
        citations = [
            Citation(n=i, article_id=p.article_id, title=p.title, url=p.url, version=p.version, section=p.section)
            for i, p in enumerate(pages, start=1)
        ]
        mem.note(f"declined a request about another person's account ({who})")
        text = other_person(mem.language, [f"{p.title} ({p.url})" if p.url else p.title for p in pages])
        return self._reply(t, text, TurnKind.answer, citations=citations, mode="other_person")

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
        if not clarify and mem.clarified:
            # The customer answers our clarifying question: look up the reading they chose.
            query = chosen_query(t.last, mem.clarified, mem.clarify_options)
            mem.clarified, mem.clarify_options = "", []
            t = replace(t, last=query)  # the question to answer is the one we asked about, as narrowed
        ctx = self.context.context(
            t.tenant_id, t.turns[mem.since_turn :], customer_id=t.customer_id, visibilities=PUBLIC, query=query
        )
        if clarify:
            history = [x.text for x in t.turns[mem.since_turn : -1] if x.author == Author.customer] + mem.human_notes
            wanted = needs_clarification(
                t.last,
                history,
                ctx.passages,
                embedder=self.embedder,
                known=known_words(ctx.customer),
                company=t.policy.name,
            )
            if wanted is not None:
                mem.move(BotState.clarifying)
                mem.note("asked which one: " + " / ".join(wanted.options))
                mem.clarified, mem.clarify_options = t.last, list(wanted.options)
                text = self.prompts.render(
                    "clarify",
                    kind=wanted.kind,
                    subject=wanted.subject,
                    options=wanted.options,
                    readings=wanted.readings,
                )
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
            vocabulary=lambda stems: self.context.document_frequencies(t.tenant_id, stems),
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

    def _handoff(
        self,
        t: _Turn,
        reason: HandoffReason,
        detail: str,
        *,
        message: str | None = None,
        sensitive: SensitiveMatch | None = None,
        preface: str = "",
    ) -> None:
        """Raise ``HandoffRequired`` with the brief: the exact reason, the tenant's queue and
        priority, and the notice in the customer's language (after hours: a ticket and a
        call-back offer instead). ``preface``: help-centre facts said before the notice."""
        mem, policy = t.memory, t.policy
        original = reason
        facts = self.context.facts(t.tenant_id, t.customer_id)
        if reason in (HandoffReason.unsupported_language, HandoffReason.no_answer):
            queue = policy.default_queue  # a language team or the KB owners, not a topic's queue
        else:
            keys: tuple[str, ...] = ()
            if sensitive is not None:
                keys = (sensitive.key, sensitive.topic.key) if sensitive.topic is not None else (sensitive.key,)
            about = (
                sensitive.description
                if sensitive is not None
                else " ".join(without_request(x) for x in t.customer_texts[-3:])
            )
            queue = self.router.queue(
                policy,
                topic=mem.topic_intent,
                keys=keys,
                configured=sensitive.queue if sensitive else None,
                about=about,
                embedder=self.embedder,
            )
        if sensitive is not None and sensitive.skill:
            detail = f"{detail}; skill: {sensitive.skill}"
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
            priority=self.router.priority(original, sensitive.priority if sensitive else None),
            notes=mem.human_notes,
        )
        if closed and policy.after_hours_action == "queue_only":
            message = after_hours_queued(policy.hours.next_opening(t.now), mem.language)
        elif closed:
            ticket = self.actions.open_ticket(
                t.tenant_id,
                t.customer_id,
                f"Callback or e-mail: {queue} ({original.value})",
                brief.summary,
                t.conversation_id,
            )
            brief = brief.model_copy(update={"reason_detail": f"{detail}; ticket {ticket}"})
            message = after_hours(ticket, policy.hours.next_opening(t.now), mem.language)
        else:
            message = message or handoff_message(reason, mem.language)
        if preface:
            message = f"{preface}\n\n{message}"
        mem.handed_off()
        raise HandoffRequired(brief, message)
