"""The spec-driven action runner: slots over turns, confirm before a write, run it once.

One action goes through these steps (its state, ``PendingAction``, lives in the
conversation's memory in the Store between turns, so a restart loses nothing):

1. **start** — refuse an anonymous visitor a signed-in-only action (with a sign-in hint);
   read what the request already says (numbers, dates, choices, ids of the customer's own
   records) and apply defaults ("today");
2. **ask** — the first missing required parameter, one at a time, with the configured
   question; an invalid answer is re-asked with what was wrong (at most ``max_reasks``
   times); "cancel" / "no" stops; a message that is no answer at all ends the action;
3. **propose** (writes) — a confirmation showing every parameter; the proposal gets its
   idempotency key;
4. **execute** — on an explicit yes (reads at once): the executor is called with the key; the
   result is recorded under the key, so a yes delivered twice — also two at once — runs the
   write once and repeats the first answer (``bot.actions.ledger``).

Every proposal, call, result, refusal and failure is audited (``action.<name>.proposed``,
``.call``, ``action.<name>``, ``.refused``, ``.failed``, ``.declined``) with the parameters
passed through the redactor. The customer is always the session's (``customer_id``); text in
the KB or CRM never reaches this module — only the customer's own messages do.

This module holds the conversation (steps 1-3, and the yes or no); running the action, its
ledger and its audit trail are ``bot.actions.execute``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select

from bot.actions.choices import Choice, infer_record_path, narrow, pick_ordinal, record_choices
from bot.actions.execute import ActionExecution
from bot.actions.executors.base import RemoteExecutor
from bot.actions.executors.builtin import BUILTINS
from bot.actions.render import confirmation_text
from bot.actions.types import ActionContext, ActionOutcome, PendingAction, PendingChoice
from bot.actions.values import check_value, default_value, find_value, human, read_answer, words_of
from core.db.schema import Customer
from core.db.store import Store
from core.tenancy.actions import ActionParameter, ActionSpec, BuiltinExecutor

__all__ = ["ActionRunner", "spec_param"]

_CANCEL = ("cancel", "stop", "never mind", "nevermind", "forget it", "no", "nope", "don't", "do not")


def _is_cancel(text: str) -> bool:
    low = " ".join(text.lower().split()).strip(" .!")
    return any(low == c or low.startswith(c + " ") or low.startswith(c + ",") for c in _CANCEL)


def _looks_like_answer(text: str) -> bool:
    """Short and not a new question: an answer to ours rather than a change of subject."""
    return len(text.split()) <= 12 and "?" not in text


class ActionRunner:
    """Runs the tenant's declared actions over turns; ``execution`` calls and audits them.
    ``executors``: backends by executor type (``http``, ``mcp``; tests inject transports);
    ``redact``: applied to every string parameter before it is audited (default: the
    project's PII redactor)."""

    def __init__(
        self,
        store: Store,
        *,
        executors: Mapping[str, RemoteExecutor] | None = None,
        redact: Callable[[str], str] | None = None,
        actor: str = "bot",
        max_reasks: int = 2,
    ) -> None:
        self.store = store
        self.max_reasks = max_reasks
        self.execution = ActionExecution(store, executors=executors, redact=redact, actor=actor)

    # -- the customer's records ----------------------------------------------------------

    def _record(self, ctx: ActionContext) -> dict[str, Any]:
        if not ctx.customer_id:
            return {}
        with self.store.read_session(ctx.tenant_id) as s:
            c = s.scalars(select(Customer).where(Customer.external_id == ctx.customer_id)).first()
            if c is None:
                return {}
            return {**(c.attributes or {}), "name": c.name, "email": c.email, "phone": c.phone, "address": c.address}

    def _choices(self, ctx: ActionContext, spec: ActionSpec, p: ActionParameter) -> list[Choice]:
        if not ctx.customer_id:
            return []
        cfg = spec.executor
        if isinstance(cfg, BuiltinExecutor) and cfg.name in BUILTINS:
            with self.store.read_core(ctx.tenant_id) as core:
                return BUILTINS[cfg.name].choices(core, ctx.customer_id, cfg.options, ctx.now)
        record = self._record(ctx)
        path = p.record_path or infer_record_path(p.name, record)
        return record_choices(record, path) if path else []

    # -- steps ---------------------------------------------------------------------------

    def start(self, ctx: ActionContext, spec: ActionSpec, text: str) -> ActionOutcome:
        """A new request for ``spec`` in the customer's message ``text``."""
        if spec.signed_in_only and not ctx.customer_id:
            self.execution.audit(ctx, f"action.{spec.name}.refused", why="signed-in only; the visitor is anonymous")
            return ActionOutcome(
                spec.name,
                "refused",
                f"I can only help with that ({human(spec.name)}) once you're signed in — please sign in to your "
                "account and ask me again.",
                writes=spec.kind == "write",
            )
        pending = PendingAction(action=spec.name)
        problem: tuple[ActionParameter, str] | None = None
        for p in spec.parameters:
            if p.source == "session":
                pending.args[p.name] = ctx.customer_id
            elif p.source == "customer":
                r = find_value(p, text, ctx.today)
                if r.value is not None:
                    pending.args[p.name] = r.value
                    if r.problem and problem is None:
                        problem = (p, r.problem)
        if problem is not None:
            pending.args[problem[0].name] = None
            return self._ask(ctx, spec, pending, problem[0], problem[1])
        return self._advance(ctx, spec, pending, text)

    def _advance(self, ctx: ActionContext, spec: ActionSpec, pending: PendingAction, text: str) -> ActionOutcome:
        """Fill what can be filled; ask for the next missing parameter; else propose or run."""
        for p in spec.parameters:
            if pending.args.get(p.name) is not None:
                continue
            if p.source == "record":
                out = self._fill_record(ctx, spec, pending, p, text)
                if out is not None:
                    return out
                continue
            default = default_value(p, ctx.today)
            if default is not None:
                pending.args[p.name] = default
                continue
            if not p.required:
                pending.args.setdefault(p.name, None)
                continue
            return self._ask(ctx, spec, pending, p)
        if spec.needs_confirmation:
            return self._propose(ctx, spec, pending)
        return self.execute(ctx, spec, pending)

    def _ask(
        self, ctx: ActionContext, spec: ActionSpec, pending: PendingAction, p: ActionParameter, problem: str = ""
    ) -> ActionOutcome:
        pending.awaiting, pending.slot, pending.choices = "slot", p.name, []
        question = p.ask or _default_question(p)
        missing = [q.name for q in spec.parameters if q.required and pending.args.get(q.name) is None]
        args = {q.name: pending.args.get(q.name) for q in spec.parameters}
        return ActionOutcome(
            spec.name, "asked", f"{problem} {question}".strip(), args, spec.kind == "write", pending, missing
        )

    def _fill_record(
        self, ctx: ActionContext, spec: ActionSpec, pending: PendingAction, p: ActionParameter, text: str
    ) -> ActionOutcome | None:
        """Pick the customer's record for ``p``; None when it is filled, else the outcome that
        asks which one or says why not."""
        choices = self._choices(ctx, spec, p)
        if not choices:
            return self.execution.refuse(
                ctx, spec, pending, f"I can't find any {human(p.name)} on your account for that."
            )
        ignore = words_of(human(spec.name)) | words_of(human(p.name))
        found = narrow(choices, text, ignore)
        if found.unknown_id:
            return self.execution.refuse(ctx, spec, pending, "I can't find that on your account.")
        pool = found.pool or [c for c in choices if c.eligible]
        if not pool and spec.kind == "read":
            pool = choices[:1]  # nothing current: the most recent one
        if len(pool) == 1:
            chosen = pool[0]
            if not chosen.eligible and spec.kind == "write":
                return self.execution.not_eligible(ctx, spec, pending, chosen.label, chosen.value)
            pending.args[p.name], pending.labels[p.name] = chosen.value, chosen.label
            return None
        if not pool:
            return self.execution.not_eligible(ctx, spec, pending, f"any of your {human(p.name)}s", "")
        listed = pool[:3]
        pending.awaiting, pending.slot, pending.choices = (
            "choice",
            p.name,
            [PendingChoice(value=c.value, label=c.label, words=sorted(c.words), eligible=c.eligible) for c in listed],
        )
        options = ", ".join(c.label for c in listed[:-1]) + f" or {listed[-1].label}"
        args = {q.name: pending.args.get(q.name) for q in spec.parameters}
        return ActionOutcome(
            spec.name, "asked", f"Which one do you mean: {options}?", args, spec.kind == "write", pending, [p.name]
        )

    def _propose(self, ctx: ActionContext, spec: ActionSpec, pending: PendingAction) -> ActionOutcome:
        pending.awaiting, pending.slot, pending.choices = "confirmation", None, []
        pending.key = pending.key or f"{ctx.conversation_id or 'conv'}:{spec.name}:{secrets.token_hex(8)}"
        options = spec.executor.options if isinstance(spec.executor, BuiltinExecutor) else {}
        text = confirmation_text(spec, pending.args, pending.labels, options)
        target = next(
            (str(pending.args[p.name]) for p in spec.parameters if p.source == "record" and pending.args.get(p.name)),
            "",
        )
        self.execution.audit(
            ctx, f"action.{spec.name}.proposed", target, args=dict(pending.args), idempotency_key=pending.key
        )
        return ActionOutcome(spec.name, "proposed", text, dict(pending.args), True, pending, target=target)

    def resume(
        self, ctx: ActionContext, spec: ActionSpec, pending: PendingAction, text: str, *, yes: bool, no: bool
    ) -> ActionOutcome | None:
        """The customer's next message while ``pending`` waits; None when it is not an answer
        (the customer moved on — the action is dropped and the message handled as new)."""
        if pending.awaiting == "confirmation":
            changed = self._changes(ctx, spec, pending, text)
            if changed:
                return self._propose(ctx, spec, pending)
            if yes:
                return self.execute(ctx, spec, pending)
            if no:
                return self.decline(ctx, spec, pending)
            return None
        p = spec_param(spec, pending.slot or "")
        if p is None:
            return None
        if _is_cancel(text):
            return self.decline(ctx, spec, pending)
        if pending.awaiting == "choice":
            listed = [Choice(c.value, c.label, frozenset(c.words), c.eligible) for c in pending.choices]
            chosen = pick_ordinal(text, listed)
            if chosen is None:
                found = narrow(listed, text, words_of(human(spec.name)) | words_of(human(p.name)))
                chosen = found.pool[0] if len(found.pool) == 1 else None
            if chosen is None:
                return self._reask(ctx, spec, pending, p, text, "Please pick one of those.")
            if not chosen.eligible and spec.kind == "write":
                return self.execution.not_eligible(ctx, spec, pending, chosen.label, chosen.value)
            pending.args[p.name], pending.labels[p.name] = chosen.value, chosen.label
            pending.reasks = 0
            return self._advance(ctx, spec, pending, "")
        r = read_answer(p, text, ctx.today)
        if r.ok:
            pending.args[p.name] = r.value
            pending.reasks = 0
            return self._advance(ctx, spec, pending, "")
        return self._reask(ctx, spec, pending, p, text, r.problem)

    def _reask(
        self, ctx: ActionContext, spec: ActionSpec, pending: PendingAction, p: ActionParameter, text: str, problem: str
    ) -> ActionOutcome | None:
        if not _looks_like_answer(text):
            return None
        pending.reasks += 1
        if pending.reasks > self.max_reasks:
            self.execution.audit(
                ctx, f"action.{spec.name}.cancelled", why=f"no valid {p.name} after {pending.reasks} tries"
            )
            return ActionOutcome(
                spec.name,
                "cancelled",
                f"I still don't have a valid {human(p.name)}, so I've left it there and nothing was changed. "
                "Would you like me to connect you with a person?",
                dict(pending.args),
                spec.kind == "write",
            )
        if pending.awaiting == "choice":
            listed = ", ".join(c.label for c in pending.choices)
            args = {q.name: pending.args.get(q.name) for q in spec.parameters}
            return ActionOutcome(
                spec.name,
                "asked",
                f"{problem} Which one do you mean: {listed}?",
                args,
                spec.kind == "write",
                pending,
                [p.name],
            )
        return self._ask(ctx, spec, pending, p, problem)

    def _changes(self, ctx: ActionContext, spec: ActionSpec, pending: PendingAction, text: str) -> bool:
        """A new value for a parameter while we wait for the yes ("make it 8 months")."""
        changed = False
        for p in spec.parameters:
            if p.source != "customer" or p.type == "string":
                continue
            r = find_value(p, text, ctx.today)
            if r.value is not None and not r.problem and r.value != pending.args.get(p.name):
                if p.type == "date" and not any(ch.isdigit() for ch in text) and pending.args.get(p.name):
                    continue  # "yes, today" restates the date
                pending.args[p.name] = r.value
                changed = True
        if changed:
            pending.key = None  # another proposal, another key
        return changed

    def decline(self, ctx: ActionContext, spec: ActionSpec, pending: PendingAction) -> ActionOutcome:
        self.execution.audit(ctx, f"action.{spec.name}.declined", args=dict(pending.args))
        return ActionOutcome(
            spec.name,
            "declined",
            "OK, I haven't changed anything. Is there anything else I can help with?",
            dict(pending.args),
            spec.kind == "write",
        )

    # -- running it ----------------------------------------------------------------------

    def execute(self, ctx: ActionContext, spec: ActionSpec, pending: PendingAction) -> ActionOutcome:
        """Run the action now (a read, or a write after its yes); a value that no longer checks
        out is asked for again. A write whose key already ran returns that first outcome again
        without calling anything."""
        for p in spec.parameters:
            value = pending.args.get(p.name)
            problem = check_value(p, value, ctx.today) if value is not None else ""
            if problem:
                pending.args[p.name] = None
                return self._ask(ctx, spec, pending, p, problem)
        return self.execution.run(ctx, spec, pending)

    # -- tickets (after-hours handoffs) ----------------------------------------------------

    def open_ticket(
        self, tenant_id: str, customer_id: str | None, subject: str, summary: str, conversation_id: str = ""
    ) -> str:
        return self.execution.open_ticket(tenant_id, customer_id, subject, summary, conversation_id)


def spec_param(spec: ActionSpec, name: str) -> ActionParameter | None:
    return next((p for p in spec.parameters if p.name == name), None)


def _default_question(p: ActionParameter) -> str:
    name = human(p.name)
    if p.type == "enum":
        return f"Which {name}: " + ", ".join(p.choices[:-1]) + f" or {p.choices[-1]}?"
    if p.type == "date":
        return f"What date should I use for the {name}?"
    if p.type in ("integer", "number") and name.endswith("s"):
        return f"How many {name}?"
    return f"What is the {name}?"
