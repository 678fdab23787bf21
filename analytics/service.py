"""The supervisor's measures for one tenant: tiles, series, breakdowns, agents, CSAT,
knowledge gaps, drill-down and CSV. Built once per process (``server.container``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel

from analytics.config import AnalyticsParams
from analytics.csat import CsatBook
from analytics.errors import BadFilter
from analytics.export import SummaryRow, summary_rows, to_csv
from analytics.facts import ConversationFacts, DraftFact, FeedbackFact
from analytics.filters import MetricsFilter
from analytics.gaps import DEFAULT_GAP_SIMILARITY, GapFinder
from analytics.load import load_facts
from analytics.measures import (
    after_hours_rows,
    agent_rows,
    breakdown,
    conversation_row,
    copilot_rows,
    csat_comment_rows,
    csat_rows,
    reason_rows,
    series,
    summary,
)
from analytics.report import (
    AfterHoursRow,
    AgentRow,
    BreakdownRow,
    ConversationRow,
    ConversationsReport,
    CopilotRow,
    CsatCommentRow,
    CsatRow,
    FilterOptions,
    GapCluster,
    GapsReport,
    MetricsReport,
    ReasonRow,
    SeriesPoint,
)
from core.db.store import Store
from core.models.embed import Embedder

__all__ = ["MEASURES", "TABLES", "Analytics", "Scope"]

# Drill-down: which conversations stand behind a number. Prefixed forms take a value:
# ``reason:no_answer``, ``agent:agent:anna``, ``csat:5``, ``bucket:2026-11-02``.
MEASURES: dict[str, Callable[[ConversationFacts], bool]] = {
    "conversations": lambda c: True,
    "settled": lambda c: c.settled,
    "in_progress": lambda c: c.in_progress,
    "bot_resolved": lambda c: c.contained,
    "confirmed": lambda c: c.confirmed,
    "assumed": lambda c: c.contained and not c.confirmed,
    "not_resolved": lambda c: c.settled and not c.contained,
    "reopened": lambda c: c.reopened,
    "handed_off": lambda c: c.handed_off,
    "after_hours": lambda c: c.after_hours,
    "fcr": lambda c: c.fcr is True,
    "repeat_contact": lambda c: c.fcr is False,
    "rated": lambda c: c.csat is not None,
    "repeated": lambda c: c.repeats > 0,
    "clarified": lambda c: c.clarifications > 0,
    "handled": lambda c: c.handle_s is not None,
    "unanswered_handoffs": lambda c: c.unanswered_handoffs > 0,
}
PREFIXED = ("reason:", "agent:", "csat:", "bucket:")

TABLES: dict[str, type[BaseModel]] = {
    "summary": SummaryRow,
    "series": SeriesPoint,
    "queues": BreakdownRow,
    "topics": BreakdownRow,
    "channels": BreakdownRow,
    "handoff_reasons": ReasonRow,
    "after_hours": AfterHoursRow,
    "agents": AgentRow,
    "copilot": CopilotRow,
    "csat": CsatRow,
    "csat_comments": CsatCommentRow,
    "gaps": GapCluster,
    "conversations": ConversationRow,
}


@dataclass
class Scope:
    """The filtered conversations (engaged or not) and what was recorded for them."""

    tenant_id: str
    filter: MetricsFilter
    params: AnalyticsParams
    in_range: list[ConversationFacts]  # every conversation of the date range (for the filter options)
    conversations: list[ConversationFacts]  # after queue / topic / channel
    feedback: list[FeedbackFact]
    drafts: list[DraftFact]

    @property
    def engaged(self) -> list[ConversationFacts]:
        return [c for c in self.conversations if c.engaged]


class Analytics:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        clock: Callable[[], datetime] | None = None,
        gap_similarity: float = DEFAULT_GAP_SIMILARITY,
    ) -> None:
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))
        self.gaps = GapFinder(embedder, gap_similarity)
        self.csat = CsatBook(store)

    def describe(self) -> dict[str, object]:
        return {"gaps": self.gaps.describe()}

    def params(self, tenant_id: str) -> AnalyticsParams:
        return AnalyticsParams.from_tenant_config(self.store.tenant_config(tenant_id))

    def default_filter(self, tenant_id: str, days: int = 30, **kwargs: object) -> MetricsFilter:
        """The last ``days`` days up to today (tenant-local)."""
        today = self.clock().astimezone(self.params(tenant_id).timezone).date()
        return MetricsFilter.last_days(days, today, **kwargs)

    def scope(self, tenant_id: str, flt: MetricsFilter) -> Scope:
        params = self.params(tenant_id)
        lo, hi = flt.utc_bounds(params.timezone)
        with self.store.session(tenant_id) as s:
            loaded = load_facts(s, lo, hi, params, self.clock())

        def keep(c: ConversationFacts) -> bool:
            return (
                (flt.queue is None or c.queue == flt.queue)
                and (flt.topic is None or c.topic == flt.topic)
                and (flt.channel is None or c.channel == flt.channel)
            )

        convs = [c for c in loaded.conversations if keep(c)]
        ids = {c.id for c in convs}
        return Scope(
            tenant_id=tenant_id,
            filter=flt,
            params=params,
            in_range=loaded.conversations,
            conversations=convs,
            feedback=[f for f in loaded.feedback if f.conversation_id in ids],
            drafts=[d for d in loaded.drafts if d.conversation_id in ids],
        )

    # -- reports ---------------------------------------------------------------------------

    def metrics(self, tenant_id: str, flt: MetricsFilter) -> MetricsReport:
        """Every measure but the knowledge gaps (``gaps``), over the filtered conversations."""
        sc = self.scope(tenant_id, flt)
        convs, tz = sc.conversations, sc.params.timezone
        engaged = [c for c in sc.in_range if c.engaged]
        return MetricsReport(
            tenant_id=tenant_id,
            filter=flt.describe(),
            params=sc.params.describe(),
            generated_at=self.clock(),
            summary=summary(convs, sc.feedback),
            series=series(convs, flt, tz),
            queues=breakdown(convs, lambda c: c.queue),
            topics=breakdown(convs, lambda c: c.topic),
            channels=breakdown(convs, lambda c: c.channel),
            handoff_reasons=reason_rows(convs),
            after_hours=after_hours_rows(convs),
            agents=agent_rows(convs, sc.feedback),
            copilot=copilot_rows(sc.feedback),
            csat=csat_rows(convs),
            csat_comments=csat_comment_rows(convs),
            options=FilterOptions(
                queues=sorted({c.queue for c in engaged}),
                topics=sorted({c.topic for c in engaged}),
                channels=sorted({c.channel for c in engaged}),
            ),
        )

    def conversations(self, tenant_id: str, flt: MetricsFilter, measure: str = "conversations") -> ConversationsReport:
        """The conversations behind one number (newest first). Raises ``BadFilter`` for an unknown measure."""
        sc = self.scope(tenant_id, flt)
        pick = self._predicate(measure, sc)
        rows = [conversation_row(c) for c in sc.engaged if pick(c)]
        rows.sort(key=lambda r: r.created_at, reverse=True)
        return ConversationsReport(measure=measure, data=rows, count=len(rows))

    def _predicate(self, measure: str, sc: Scope) -> Callable[[ConversationFacts], bool]:
        if measure in MEASURES:
            return MEASURES[measure]
        kind, _, value = measure.partition(":")
        if kind == "reason" and value:
            return lambda c: any(h.reason == value for h in c.handoffs)
        if kind == "agent" and value:
            return lambda c: value in c.agents
        if kind == "csat" and value.isdigit():
            return lambda c: c.csat is not None and c.csat.rating == int(value)
        if kind == "bucket" and value:
            tz = sc.params.timezone
            return lambda c: sc.filter.bucket_of(c.created_at, tz).isoformat() == value
        allowed = ", ".join([*MEASURES, *(p + "…" for p in PREFIXED)])
        raise BadFilter(f"Unknown measure {measure!r}; use one of: {allowed}")

    def gap_report(self, tenant_id: str, flt: MetricsFilter) -> GapsReport:
        """Knowledge gaps over the filtered conversations (embeds new questions: slower than ``metrics``)."""
        sc = self.scope(tenant_id, flt)
        questions = self.gaps.questions(sc.conversations)
        clusters = self.gaps.clusters(questions, sc.drafts)
        return GapsReport(
            tenant_id=tenant_id,
            filter=flt.describe(),
            questions=len(questions),
            clusters=clusters,
            count=len(clusters),
            clustering=self.gaps.describe(),
        )

    def table_csv(self, tenant_id: str, flt: MetricsFilter, table: str, measure: str = "conversations") -> str:
        """One table of the dashboard as CSV. Raises ``BadFilter`` for an unknown table."""
        if table not in TABLES:
            raise BadFilter(f"Unknown table {table!r}; use one of: {', '.join(TABLES)}")
        rows: list[BaseModel]
        if table == "gaps":
            rows = list(self.gap_report(tenant_id, flt).clusters)
        elif table == "conversations":
            rows = list(self.conversations(tenant_id, flt, measure).data)
        elif table == "summary":
            rows = list(summary_rows(self.metrics(tenant_id, flt).summary))
        else:
            rows = list(getattr(self.metrics(tenant_id, flt), table))
        return to_csv(rows, list(TABLES[table].model_fields))
