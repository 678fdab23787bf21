"""The driver of ``switchboard evals company DIR`` (the command: ``server.cli.company_command``):
onboard a company folder into a throw-away data dir and play its case file over the product, as
the widget and the agent console would.

The folder holds ``cases.yaml`` (which names ``kb_dir`` and ``crm_file``) and ``tenant.yaml``
(our layout or an admin export's). Bot cases go through ``ConversationService`` one
conversation each, with the bot's clock pinned to the case file's ``reference_date`` inside
the tenant's business hours; copilot cases are claimed by an agent and the events the agent
console receives are recorded; ``server.cli.company_seen`` reads the action and the console's
suggestions out of those records. Scoring is ``evals.company`` (pure; ``evals`` may not import
``server``). See docs/evals.md, "Company evals".
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.db.conversations import list_messages, turns_of
from core.db.schema import AuditEntry, Conversation, Handoff, Message
from core.errors import SwitchboardError
from core.events import Event, EventBus, agent_topic
from core.tenancy import TenantConfig
from core.tenancy.config import DAYS, parse_window
from core.tenancy.registry import TenantRegistry
from evals.action_backend import bind_missing_executors, local_action_service
from evals.company import (
    BotCase,
    BotTranscript,
    BotTurn,
    CaseFile,
    Cited,
    CompanySources,
    CopilotCase,
    CopilotSeen,
    CopilotTranscript,
    HandoffSeen,
)
from knowledge.context import PUBLIC
from knowledge.crm_records import read_records
from server.auth import Principal, Role
from server.cli.company_seen import action_seen, copilot_seen
from server.container import Services
from server.service import ConversationService
from server.tenants import Onboarding
from server.unit_vectors import warm_tenant

__all__ = ["CompanyRun", "RecordingBus", "business_clock"]


class CompanyEvalError(SwitchboardError):
    """The company folder cannot be evaluated (missing file, onboarding failed)."""


# -- the clock -----------------------------------------------------------------------------


def business_clock(config: TenantConfig, day: Any) -> tuple[datetime, bool]:
    """A moment on ``day`` inside the tenant's business hours (the middle of the day's
    window), in the tenant's timezone. Returns (moment, open): ``open`` is False when the
    tenant is closed that day (then noon, and handoffs will be after-hours ones)."""
    tz = ZoneInfo(config.timezone)
    hours = config.business_hours
    # Stored keys are mon..sun (``TenantConfig._hours``); no hours at all means always open.
    window = parse_window(hours.get(DAYS[day.weekday()], "closed")) if hours else (dtime(9), dtime(17))
    closed_dates = set(config.closed_dates)
    if window is None or day in closed_dates:
        return datetime.combine(day, dtime(12), tzinfo=tz), False
    opens, closes = window
    start = datetime.combine(day, opens, tzinfo=tz)
    end = datetime.combine(day, closes, tzinfo=tz)
    return start + (end - start) / 2, True


# -- what the agent console receives ---------------------------------------------------------


class RecordingBus:
    """The product's event bus with a record of every event published to an agent topic
    (what an agent console subscribed to that conversation receives), with arrival times."""

    def __init__(self, inner: EventBus) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self.events: dict[str, list[tuple[float, Event]]] = {}

    def publish(self, topic: str, event: Event) -> None:
        if topic.endswith(":agent"):
            with self._lock:
                self.events.setdefault(topic, []).append((time.perf_counter(), event))
        self.inner.publish(topic, event)

    def publish_many(self, topics: Sequence[str], event: Event) -> None:
        for topic in topics:
            self.publish(topic, event)

    def subscribe(self, topic: str) -> Any:
        return self.inner.subscribe(topic)

    def close(self) -> None:
        self.inner.close()

    def of(self, topic: str) -> list[tuple[float, Event]]:
        with self._lock:
            return list(self.events.get(topic, []))


# -- the run ---------------------------------------------------------------------------------


@dataclass
class CompanyRun:
    """One company folder onboarded into ``services`` (a throw-away data dir)."""

    folder: Path
    cases: CaseFile
    services: Services
    clock: list[datetime] = field(default_factory=list)  # one element, shared with the bot's clock
    tenant_id: str = ""
    config: TenantConfig | None = None
    onboarding: dict[str, object] = field(default_factory=dict)
    bus: RecordingBus | None = None
    resources: ExitStack = field(default_factory=ExitStack)  # the local action service, while the run lasts

    def close(self) -> None:
        self.resources.close()

    @property
    def conversations(self) -> ConversationService:
        return ConversationService(self.services)

    def onboard(self) -> None:
        """Tenant configuration, KB and CRM, through the onboarding API the product uses."""
        tenant_file = self.folder / "tenant.yaml"
        kb_dir = self.folder / self.cases.kb_dir
        if not kb_dir.is_dir():
            raise CompanyEvalError(f"{kb_dir} is not a folder (cases.yaml kb_dir)")
        onboarding = Onboarding(self.services)
        result, ignored = onboarding.apply_file(tenant_file, actor="evals")
        self.tenant_id = result.tenant_id
        self.config = TenantRegistry(self.services.store).find(self.tenant_id)
        report = self.services.kb.load_folder(self.tenant_id, kb_dir, actor="evals")
        if report.errors:
            first = next(iter(report.errors.items()))
            raise CompanyEvalError(f"{len(report.errors)} KB files failed to load, e.g. {first[0]}: {first[1]}")
        warm_tenant(self.services, self.tenant_id)  # answer-unit vectors at index time, as a server has them
        crm: dict[str, object] = {}
        if self.cases.crm_file:
            crm_path = self.folder / self.cases.crm_file
            if not crm_path.is_file():
                raise CompanyEvalError(f"{crm_path} does not exist (cases.yaml crm_file)")
            reports = onboarding.import_crm(self.tenant_id, [crm_path], actor="evals")
            errors = [f"{r.source}#{e.index}: {e.error}" for r in reports for e in r.errors]
            if errors:
                raise CompanyEvalError(f"{len(errors)} CRM records failed to import, e.g. {errors[0]}")
            crm = {"created": sum(r.created for r in reports), "updated": sum(r.updated for r in reports)}
            crm.update(self._bind_actions(crm_path))
        self.onboarding = {
            "tenant": self.tenant_id,
            "config_fields_ignored": ignored,
            "kb": {"added": len(report.added), "updated": len(report.updated), "unchanged": len(report.unchanged)},
            "crm": crm,
        }

    def _bind_actions(self, crm_path: Path) -> dict[str, object]:
        """Actions that declare no executor (the company's API is not in the folder) run
        against the local HTTP service over the folder's CRM export (evals/action_backend.py)."""
        if self.config is None or all(a.executor is not None for a in self.config.actions):
            return {}
        base = self.resources.enter_context(local_action_service(crm_path))
        bound = bind_missing_executors(self.services.store, self.tenant_id, base)
        self.services.tenant_changed(self.tenant_id)
        self.config = TenantRegistry(self.services.store).find(self.tenant_id)
        return {"actions_bound_to_local_service": bound}

    def sources(self) -> CompanySources:
        """What the scorer needs: the indexed articles (text, visibility), the CRM records,
        the configuration text and the product's prompt templates."""
        texts: dict[str, list[str]] = {}
        visibility: dict[str, str] = {}
        for c in sorted(self.services.index.chunks(self.tenant_id), key=lambda c: (c.article_id, c.ordinal)):
            if c.article_id not in texts:
                texts[c.article_id] = [c.title]
            texts[c.article_id].append(f"{c.section}\n{c.text}")
            visibility[c.article_id] = getattr(c.visibility, "value", str(c.visibility))
        customers: dict[str, dict[str, Any]] = {}
        if self.cases.crm_file:
            for rec in read_records(self.folder / self.cases.crm_file):
                if isinstance(rec, dict):
                    rid = next((rec[k] for k in ("id", "customer_id", "external_id") if rec.get(k)), None)
                    if rid is not None:
                        customers[str(rid)] = rec
        import prompts

        templates = Path(prompts.__file__).parent / "templates"
        return CompanySources(
            reference_date=self.cases.reference_date,
            articles={a: "\n".join(t) for a, t in texts.items()},
            visibility=visibility,
            customers=customers,
            global_forbidden=self.cases.global_forbidden,
            config_text=(self.folder / "tenant.yaml").read_text(encoding="utf-8"),
            system_texts=[p.read_text(encoding="utf-8") for p in sorted(templates.glob("*.j2"))],
        )

    # -- bot cases ---------------------------------------------------------------------------

    def _customer(self, customer_id: str | None) -> Principal:
        return Principal(
            role=Role.customer,
            tenant_id=self.tenant_id,
            customer_id=customer_id,
            visitor_id=f"eval-{uuid.uuid4().hex[:12]}",
        )

    def _writes(self, action: str) -> bool | None:
        for spec in self.config.actions if self.config else []:
            if spec.name == action:
                return getattr(spec, "kind", "write") == "write"
        return None

    def play_bot(self, case: BotCase, *, k: int) -> BotTranscript:
        t = BotTranscript(case_id=case.id, customer_id=case.customer_id)
        principal = self._customer(case.customer_id)
        try:
            conv = self.conversations.start(principal)
            handoffs_seen = 0
            for text in case.turns:
                started = datetime.now(UTC)
                t0 = time.perf_counter()
                result = self.conversations.post_customer_message(principal, conv.id, text)
                latency = time.perf_counter() - t0
                turn, handoffs_seen = self._observe(conv.id, text, result, handoffs_seen, started)
                turn.latency_s = round(latency, 3)
                t.turns.append(turn)
            t.retrieved = self._retrieved(conv.id, case.customer_id, k)
        except Exception as exc:  # noqa: BLE001  (one broken case is reported, the run goes on)
            t.error = f"{type(exc).__name__}: {exc}"
        return t

    def _observe(
        self, conv_id: str, text: str, result: Any, handoffs_seen: int, started: datetime
    ) -> tuple[BotTurn, int]:
        replies = list(result.replies)
        with self.services.store.session(self.tenant_id) as s:
            metas = []
            for r in replies:
                row = s.get(Message, r.id)
                metas.append(dict(row.meta or {}) if row is not None else {})
            conv = s.get(Conversation, conv_id)
            memory = dict(conv.memory or {}) if conv is not None else {}
            state = conv.state if conv is not None else ""
            rows = list(
                s.scalars(select(Handoff).where(Handoff.conversation_id == conv_id).order_by(Handoff.created_at))
            )
            new_handoffs = [(h.reason, h.queue, h.priority, dict(h.brief or {})) for h in rows[handoffs_seen:]]
            audits = [
                (a.action, a.target, dict(a.detail or {}))
                for a in s.scalars(
                    select(AuditEntry).where(AuditEntry.action.like("action.%"), AuditEntry.created_at >= started)
                )
                if a.target == conv_id or (a.detail or {}).get("conversation") == conv_id
            ]
        meta = metas[-1] if metas else {}
        citations = [
            Cited(
                article_id=str(c.get("article_id", "")),
                title=str(c.get("title", "")),
                section=str(c.get("section", "")),
                visibility=self._visibility(str(c.get("article_id", ""))),
            )
            for m in metas
            for c in m.get("citations", []) or []
            if isinstance(c, dict)
        ]
        handoff = None
        if new_handoffs:
            reason, queue, priority, brief = new_handoffs[0]
            handoff = HandoffSeen(
                reason=reason, queue=queue, priority=priority, detail=str(brief.get("reason_detail", ""))
            )
        turn = BotTurn(
            customer=text,
            reply=" ".join(r.text for r in replies).strip(),
            kind=str(meta.get("kind") or ("handoff" if handoff else ("silent" if not replies else ""))),
            mode=str(meta.get("mode") or ""),
            citations=citations,
            handoff=handoff,
            action=action_seen(meta, memory.get("bot", {}) or {}, audits, state, self._writes),
            state=state,
        )
        return turn, handoffs_seen + len(new_handoffs)

    def _visibility(self, article_id: str) -> str:
        if not hasattr(self, "_vis"):
            self._vis = {
                c.article_id: getattr(c.visibility, "value", str(c.visibility))
                for c in self.services.index.chunks(self.tenant_id)
            }
        return self._vis.get(article_id, "other")

    def _retrieved(self, conv_id: str, customer_id: str | None, k: int) -> list[str]:
        with self.services.store.session(self.tenant_id) as s:
            turns = turns_of(list_messages(s, conv_id))
        ctx = self.services.context.context(self.tenant_id, turns, customer_id=customer_id, visibilities=PUBLIC, k=k)
        return [p.article_id for p in ctx.passages]

    # -- copilot cases -------------------------------------------------------------------------

    def play_copilot(self, case: CopilotCase, *, timeout_s: float = 600.0) -> CopilotTranscript:
        t = CopilotTranscript(
            case_id=case.id,
            customer_id=case.customer_id,
            conversation=[{"role": m.role, "text": m.text} for m in case.conversation],
        )
        customer = self._customer(case.customer_id)
        agent = Principal(role=Role.agent, tenant_id=self.tenant_id, name="evals-agent")
        try:
            conv = self.conversations.start(customer)
            self.conversations.claim(agent, conv.id)
            last_seq, submitted = 0, 0.0
            for m in case.conversation:
                if m.role == "customer":
                    submitted = time.perf_counter()
                    result = self.conversations.post_customer_message(customer, conv.id, m.text)
                    last_seq = result.message.seq
                else:
                    self.conversations.agent_reply(agent, conv.id, m.text)
            if not self.services.live_assist.wait_idle(timeout_s):
                raise TimeoutError(f"copilot suggestions took over {timeout_s:.0f}s")
            t.seen = self._console(conv.id, last_seq, submitted)
        except Exception as exc:  # noqa: BLE001
            t.error = f"{type(exc).__name__}: {exc}"
        return t

    def _console(self, conv_id: str, seq: int, submitted: float) -> CopilotSeen | None:
        assert self.bus is not None
        return copilot_seen(self.bus.of(agent_topic(self.tenant_id, conv_id)), seq, submitted)
