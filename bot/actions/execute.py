"""Running a filled action once, and the record of it.

``ActionExecution.run`` calls the action's executor (a builtin inside the Store's transaction,
or a remote ``http`` / ``mcp`` backend) with the proposal's idempotency key; the key is claimed
in the ledger before the write and the result recorded under it (``bot.actions.ledger``), so a
yes delivered twice — also two at once — runs the write once and repeats the first answer.
Refusals (the company's eligibility rule), failures (with a handoff text) and after-hours
tickets are here too.

Every call, result, refusal and failure is audited (``action.<name>.call``, ``action.<name>``,
``.refused``, ``.failed``) with the parameters passed through the redactor; ``audit`` serves
the conversation's own steps (``bot.actions.runner``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.actions import ledger
from bot.actions.errors import ActionFailed, ActionRefused
from bot.actions.executors.base import ActionCall, ActionResult, RemoteExecutor
from bot.actions.executors.builtin import BUILTINS
from bot.actions.executors.http import HttpActionExecutor
from bot.actions.executors.mcp import McpActionExecutor
from bot.actions.render import fill, result_text
from bot.actions.types import ActionContext, ActionOutcome, PendingAction
from bot.actions.values import human
from core.db.conversations import audit
from core.db.schema import Ticket
from core.db.store import Store
from core.tenancy.actions import ActionSpec, BuiltinExecutor

__all__ = ["ActionExecution"]

log = logging.getLogger("switchboard.bot.actions")

# A yes that finds its key claimed by a remote call in flight reads the ledger again after
# these pauses (doubling, seconds) until the outcome is there or the claim's deadline passed.
POLL_S = 0.05
POLL_MAX_S = 0.5


class ActionExecution:
    """Runs filled actions and audits every step. ``executors``: backends by executor type
    (``http``, ``mcp``; tests inject transports); ``redact``: applied to every string parameter
    before it is audited (default: the project's PII redactor)."""

    def __init__(
        self,
        store: Store,
        *,
        executors: Mapping[str, RemoteExecutor] | None = None,
        redact: Callable[[str], str] | None = None,
        actor: str = "bot",
    ) -> None:
        self.store = store
        self.actor = actor
        self.executors: dict[str, RemoteExecutor] = {"http": HttpActionExecutor(), "mcp": McpActionExecutor()}
        self.executors.update(executors or {})
        self._redact = redact
        self._redact_text: Callable[[str], str] | None = None

    # -- audit and ledger ------------------------------------------------------------------

    def redact(self, value: Any) -> Any:
        if isinstance(value, str):
            if self._redact_text is None:
                if self._redact is None:
                    from core.redaction import redact as default_redact

                    self._redact = default_redact
                redact = self._redact
                # The same strings come back audit after audit (a refusal's rule, an order's
                # items, the conversation's idempotency keys; digits send them through the phone
                # recognizer): each is redacted once (a redactor is a function of its text).
                self._redact_text = lru_cache(maxsize=2048)(redact)
            return self._redact_text(value)
        if isinstance(value, dict):
            return {k: self.redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact(v) for v in value]
        return value

    def audit(self, ctx: ActionContext, action: str, target: str = "", **detail: Any) -> None:
        with self.store.session(ctx.tenant_id) as s:
            self._audit_in(s, ctx, action, target, **detail)

    def _audit_in(self, s: Any, ctx: ActionContext, action: str, target: str = "", **detail: Any) -> None:
        actor = f"{self.actor}:{ctx.customer_id or 'anonymous'}"
        audit(
            s,
            actor,
            action,
            target,
            customer_id=ctx.customer_id,
            conversation=ctx.conversation_id,
            **self.redact(detail),
        )

    def _recorded(self, tenant_id: str, key: str) -> ledger.LedgerEntry | None:
        """The outcome recorded under ``key``, None when there is none (yet)."""
        with self.store.read_session(tenant_id) as s:
            found = ledger.read(s, key)
        return found if found is not None and not found.running else None

    # -- refusals --------------------------------------------------------------------------

    def not_eligible(
        self, ctx: ActionContext, spec: ActionSpec, pending: PendingAction, what: str, target: str
    ) -> ActionOutcome:
        options = spec.executor.options if isinstance(spec.executor, BuiltinExecutor) else {}
        rule = fill(spec.eligibility, options).rstrip(".") if spec.eligibility else "that isn't possible"
        text = f"I can't do that for {what} in the chat: {rule}. Would you like me to connect you with a person?"
        return self.refuse(ctx, spec, pending, text, target)

    def refuse(
        self, ctx: ActionContext, spec: ActionSpec, pending: PendingAction, text: str, target: str = ""
    ) -> ActionOutcome:
        self.audit(ctx, f"action.{spec.name}.refused", target, args=dict(pending.args), why=text)
        return ActionOutcome(spec.name, "refused", text, dict(pending.args), spec.kind == "write", target=target)

    # -- running it ----------------------------------------------------------------------

    def run(self, ctx: ActionContext, spec: ActionSpec, pending: PendingAction) -> ActionOutcome:
        """Call the action's executor with the filled ``pending`` (its values checked). A write
        whose key already ran returns that first outcome again without calling anything."""
        writes = spec.kind == "write"
        key = pending.key if writes else None
        call = ActionCall(ctx.tenant_id, spec, dict(pending.args), ctx.customer_id, ctx.conversation_id, ctx.now, key)
        cfg = spec.executor
        target = next(
            (str(pending.args[p.name]) for p in spec.parameters if p.source == "record" and pending.args.get(p.name)),
            "",
        )
        if cfg is None:
            return self._failed(
                ctx, spec, call, ActionFailed("unconfigured", f"action {spec.name!r} declares no executor")
            )
        if isinstance(cfg, BuiltinExecutor):
            builtin = BUILTINS.get(cfg.name)
            if builtin is None:
                return self._failed(ctx, spec, call, ActionFailed("unconfigured", f"no builtin action {cfg.name!r}"))
            try:
                with self.store.session(ctx.tenant_id) as s:
                    claim = None
                    if key:
                        prev = ledger.read(s, key)
                        if prev is not None and not prev.running:
                            return self._replay(spec, call, prev.detail)
                        # Before the write, in its transaction: a second run of the key waits
                        # here for this transaction, then fails on the ledger's unique index.
                        claim = ledger.claim(s, self.actor, key, spec.name)
                    try:
                        result = builtin.run(s, call, target, cfg.options)
                    except ActionRefused as refused:
                        s.rollback()  # the claim goes with the write
                        label = pending.labels.get(
                            next((p.name for p in spec.parameters if p.source == "record"), ""), target
                        )
                        return (
                            self.not_eligible(ctx, spec, pending, label or target, refused.target)
                            if not refused.text
                            else self.refuse(ctx, spec, pending, refused.text, refused.target)
                        )
                    return self._done(ctx, spec, call, pending, result, session=s, claim=claim)
            except IntegrityError:
                done = self._recorded(ctx.tenant_id, key) if key else None
                if done is None:
                    raise
                return self._replay(spec, call, done.detail)  # the other run of the key committed first
        executor = self.executors.get(cfg.type)
        if executor is None:
            return self._failed(ctx, spec, call, ActionFailed("unconfigured", f"no {cfg.type} executor"))
        try:
            claimed = self._claim_remote(ctx, spec, call, target, cfg.type, float(getattr(cfg, "timeout_s", 0) or 0))
        except ActionFailed as failure:
            return self._failed(ctx, spec, call, failure)
        if isinstance(claimed, ActionOutcome):
            return claimed
        try:
            result = executor.call(call)
        except ActionFailed as failure:
            return self._failed(ctx, spec, call, failure, claim=claimed)
        except BaseException:
            self._release(ctx, claimed)
            raise
        with self.store.session(ctx.tenant_id) as s:
            return self._done(ctx, spec, call, pending, result, session=s, claim=claimed)

    def _claim_remote(
        self, ctx: ActionContext, spec: ActionSpec, call: ActionCall, target: str, executor: str, timeout_s: float
    ) -> ActionOutcome | ledger.LedgerEntry | None:
        """Before a remote call: the first outcome when the key ran already, else this run's
        claim of the key (committed, with the ``action.<name>.call`` audit entry; None for a
        read, which has no key). A claim of another run still in its call is
        waited for (its outcome is replayed; a failed run's released claim is taken), at most
        until its deadline (``timeout_s`` + ``ledger.CLAIM_GRACE_S``), after which it is taken
        over. Raises ``ActionFailed`` (timeout) when the key stays held longer than twice that."""
        key = call.idempotency_key
        held_for = timeout_s + ledger.CLAIM_GRACE_S
        give_up = time.monotonic() + 2 * held_for
        pause = POLL_S
        while True:
            try:
                with self.store.session(ctx.tenant_id) as s:
                    claim = None
                    if key:
                        prev = ledger.read(s, key)
                        if prev is not None and not prev.running:
                            return self._replay(spec, call, prev.detail)
                        if prev is None or (prev.expired() and ledger.take_over(s, prev)):
                            if prev is not None:
                                log.warning("action %s: key %s taken over from a run past its deadline", spec.name, key)
                            claim = ledger.claim(s, self.actor, key, spec.name, until=time.time() + held_for)
                    if claim is not None or not key:
                        self._audit_in(
                            s,
                            ctx,
                            f"action.{spec.name}.call",
                            target,
                            executor=executor,
                            args=dict(call.args),
                            idempotency_key=key,
                        )
                        return claim
            except IntegrityError:
                pass  # another run claimed the key between our read and our claim: read again
            if time.monotonic() > give_up:
                raise ActionFailed("timeout", f"the idempotency key of {spec.name} stayed claimed by another run")
            time.sleep(pause)
            pause = min(2 * pause, POLL_MAX_S)

    def _release(self, ctx: ActionContext, claim: ledger.LedgerEntry | None) -> None:
        if claim is not None:
            with self.store.session(ctx.tenant_id) as s:
                ledger.release(s, claim)

    def _done(
        self,
        ctx: ActionContext,
        spec: ActionSpec,
        call: ActionCall,
        pending: PendingAction,
        result: ActionResult,
        *,
        session: Any,
        claim: ledger.LedgerEntry | None = None,
    ) -> ActionOutcome:
        options = spec.executor.options if isinstance(spec.executor, BuiltinExecutor) else {}
        labels = {**pending.labels, **result.labels}
        text = result_text(spec, call.args, labels, result.data, result.text, options, ctx.currency)
        target = result.target or next(
            (str(call.args[p.name]) for p in spec.parameters if p.source == "record" and call.args.get(p.name)), ""
        )
        self._audit_in(
            session,
            ctx,
            f"action.{spec.name}",
            target,
            args=dict(call.args),
            idempotency_key=call.idempotency_key,
            result=_short(result.data),
            **result.audit,
        )
        if claim is not None:
            outcome = {"action_name": spec.name, "text": text, "result": _short(result.data), "record": target}
            if not ledger.record(session, claim, outcome):
                log.warning("action %s: key %s was taken over during the call", spec.name, call.idempotency_key)
        return ActionOutcome(
            spec.name, "executed", text, dict(call.args), spec.kind == "write", result=result.data, target=target
        )

    @staticmethod
    def _replay(spec: ActionSpec, call: ActionCall, prev: Mapping[str, Any]) -> ActionOutcome:
        log.info("action %s: key %s already ran; not calling again", spec.name, call.idempotency_key)
        return ActionOutcome(
            spec.name,
            "executed",
            str(prev.get("text", "")),
            dict(call.args),
            spec.kind == "write",
            result=prev.get("result"),
            target=str(prev.get("record", "")),
            replayed=True,
        )

    def _failed(
        self,
        ctx: ActionContext,
        spec: ActionSpec,
        call: ActionCall,
        failure: ActionFailed,
        *,
        claim: ledger.LedgerEntry | None = None,
    ) -> ActionOutcome:
        """The failure audited and worded for the customer; the run's ``claim`` of its key is
        released (a later yes may try again, with the same key)."""
        with self.store.session(ctx.tenant_id) as s:
            self._audit_in(
                s,
                ctx,
                f"action.{spec.name}.failed",
                failure=failure.kind,
                detail=failure.detail,
                args=dict(call.args),
                idempotency_key=call.idempotency_key,
            )
            if claim is not None:
                ledger.release(s, claim)
        why = {
            "timeout": "our system took too long to answer",
            "unavailable": "our system isn't reachable right now",
        }.get(failure.kind, "something went wrong on our side")
        effect = "nothing has been changed" if spec.kind == "write" else "I don't have an answer from it"
        text = (
            f"Sorry — I couldn't {human(spec.name)} because {why}, so {effect}; I'm connecting you with a "
            "member of our team, who will see everything we've discussed."
        )
        return ActionOutcome(spec.name, "failed", text, dict(call.args), spec.kind == "write", failure=failure)

    # -- tickets (after-hours handoffs) ----------------------------------------------------

    def open_ticket(
        self, tenant_id: str, customer_id: str | None, subject: str, summary: str, conversation_id: str = ""
    ) -> str:
        with self.store.session(tenant_id) as s:
            ticket = Ticket(
                customer_id=customer_id,
                subject=subject[:300],
                summary=summary,
                channel="chat",
                conversation_id=conversation_id or None,
            )
            s.add(ticket)
            s.flush()
            audit(
                s,
                self.actor,
                "ticket.open",
                ticket.external_id,
                customer_id=customer_id,
                conversation=conversation_id,
                subject=subject[:120],
            )
            return ticket.external_id


def _short(data: Any) -> Any:
    """A result small enough for an audit entry."""
    text = repr(data)
    return data if len(text) <= 2000 else text[:2000]
