"""Supervisors: the contact-center measures (tiles, series, breakdowns, agents, CSAT,
knowledge gaps), the conversations behind a number, CSV of every table, copilot acceptance
rates, and the supervisor page. Formulas: docs/analytics.md."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError

from analytics import Analytics, BadFilter, Bucket, ConversationsReport, GapsReport, MetricsFilter, MetricsReport
from copilot.feedback import AcceptanceReport
from server.deps import ServicesDep, Supervisor
from server.routes.pages import STATIC

router = APIRouter(tags=["supervisor"])

DEFAULT_DAYS = 30


class MetricsQuery:
    """The dashboard's filters as query parameters (dates are the tenant's local dates)."""

    def __init__(
        self,
        start: Annotated[date | None, Query(description="first day (default: 30 days before end)")] = None,
        end: Annotated[date | None, Query(description="last day, inclusive (default: today)")] = None,
        queue: Annotated[str | None, Query(max_length=64, description="a handoff queue, or 'none'")] = None,
        topic: Annotated[str | None, Query(max_length=64, description="the bot's topic (intent), or 'unknown'")] = None,
        channel: Annotated[str | None, Query(max_length=32, description="channel of entry, e.g. 'chat'")] = None,
        bucket: Annotated[Bucket, Query(description="series by day or ISO week")] = Bucket.day,
    ) -> None:
        self.start, self.end, self.bucket = start, end, bucket
        self.queue, self.topic, self.channel = queue, topic, channel

    def resolve(self, analytics: Analytics, tenant_id: str) -> MetricsFilter:
        end = self.end or analytics.default_filter(tenant_id, 1).end
        start = self.start or end - timedelta(days=DEFAULT_DAYS - 1)
        try:
            return MetricsFilter(
                start=start, end=end, queue=self.queue, topic=self.topic, channel=self.channel, bucket=self.bucket
            )
        except ValidationError as exc:
            raise BadFilter(str(exc.errors()[0]["msg"])) from None


Filters = Annotated[MetricsQuery, Depends()]


@router.get("/supervisor", include_in_schema=False)
def supervisor_page() -> FileResponse:
    return FileResponse(STATIC / "supervisor.html")


@router.get("/api/supervisor/copilot/acceptance")
def acceptance_rates(principal: Supervisor, services: ServicesDep) -> AcceptanceReport:
    """For each suggestion type: shown, inserted, edited, dismissed and the acceptance rate."""
    return services.feedback.acceptance(principal.tenant_id)


@router.get("/api/supervisor/metrics")
def metrics(principal: Supervisor, services: ServicesDep, filters: Filters) -> MetricsReport:
    """Every measure over the filtered conversations: tiles (``summary``), the series by day or
    week, breakdowns by queue / topic / channel, handoff reasons, after-hours tickets, agents,
    copilot, CSAT. Knowledge gaps: ``/api/supervisor/metrics/gaps``."""
    analytics = services.analytics
    return analytics.metrics(principal.tenant_id, filters.resolve(analytics, principal.tenant_id))


@router.get("/api/supervisor/metrics/conversations")
def conversations_behind(
    principal: Supervisor,
    services: ServicesDep,
    filters: Filters,
    measure: Annotated[str, Query(max_length=120, description="e.g. bot_resolved, reason:no_answer, csat:5")] = (
        "conversations"
    ),
) -> ConversationsReport:
    """The conversations behind one number (drill-down); read one with /api/agent/conversations/{id}."""
    analytics = services.analytics
    return analytics.conversations(principal.tenant_id, filters.resolve(analytics, principal.tenant_id), measure)


@router.get("/api/supervisor/metrics/gaps")
def knowledge_gaps(principal: Supervisor, services: ServicesDep, filters: Filters) -> GapsReport:
    """Questions the bot abstained on or handed off as no_answer, grouped by meaning, with the
    KB drafts made from those conversations."""
    analytics = services.analytics
    return analytics.gap_report(principal.tenant_id, filters.resolve(analytics, principal.tenant_id))


@router.get("/api/supervisor/metrics/export/{table}.csv", response_class=Response)
def export_csv(
    table: str,
    principal: Supervisor,
    services: ServicesDep,
    filters: Filters,
    measure: Annotated[str, Query(max_length=120)] = "conversations",
) -> Response:
    """One table of the dashboard as CSV (``summary``, ``series``, ``queues``, ``topics``,
    ``channels``, ``handoff_reasons``, ``after_hours``, ``agents``, ``copilot``, ``csat``,
    ``csat_comments``, ``gaps``, ``conversations`` with ``measure``)."""
    analytics = services.analytics
    flt = filters.resolve(analytics, principal.tenant_id)
    body = analytics.table_csv(principal.tenant_id, flt, table, measure)
    name = f"{table}_{flt.start.isoformat()}_{flt.end.isoformat()}.csv"
    return Response(
        body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
