"""The shapes the supervisor API returns (pydantic, serialised as-is by ``server``).

Durations are seconds; rates are fractions 0..1 (``None`` when nothing was there to count);
dates are tenant-local. Formulas: docs/analytics.md.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

__all__ = [
    "AfterHoursRow",
    "AgentRow",
    "BreakdownRow",
    "ConversationRow",
    "ConversationsReport",
    "CopilotRow",
    "CsatCommentRow",
    "CsatRow",
    "DraftLink",
    "FilterOptions",
    "GapCluster",
    "GapsReport",
    "MetricsReport",
    "Rate",
    "ReasonRow",
    "SeriesPoint",
    "Summary",
]


class Rate(BaseModel):
    """``numerator / denominator``; ``value`` is None when the denominator is 0."""

    numerator: int
    denominator: int
    value: float | None

    @classmethod
    def of(cls, numerator: int, denominator: int) -> Rate:
        return cls(
            numerator=numerator,
            denominator=denominator,
            value=round(numerator / denominator, 4) if denominator else None,
        )


class Summary(BaseModel):
    """The tiles: every headline measure over the filtered conversations."""

    conversations: int = Field(description="conversations in scope in which the customer wrote")
    empty: int = Field(description="conversations opened without a customer message (not counted anywhere)")
    in_progress: int = Field(description="still running with the bot (not yet in the resolution rates)")
    settled: int = Field(description="ended, or a person was involved")
    bot_resolution: Rate = Field(description="contained / settled")
    confirmed_resolution: Rate = Field(description="contained and the customer said it was solved / settled")
    assumed_resolution: Rate = Field(description="contained without the customer's word / settled")
    reopened: int
    handoff: Rate = Field(description="conversations with a handoff / conversations")
    handoffs: int = Field(description="handoffs (a conversation can be handed off again after a hand-back)")
    after_hours_tickets: int
    fcr: Rate = Field(description="ended conversations with no repeat contact on the topic within N days / ended")
    csat_score: Rate = Field(description="ratings of 4 or 5 / ratings")
    csat_mean: float | None
    csat_response: Rate = Field(description="ratings / closed conversations (the widget asks after close)")
    customer_turns_mean: float | None = Field(description="customer messages per settled conversation")
    turns_to_resolution_bot: float | None = Field(description="customer messages per bot-resolved conversation")
    turns_to_resolution_human: float | None = Field(
        description="customer messages per closed conversation a person handled"
    )
    repeated: Rate = Field(description="conversations where the customer repeated a question / conversations")
    repeats: int
    clarified: Rate = Field(description="conversations with a clarifying question / conversations")
    clarifications: int
    first_response_median_s: float | None
    first_response_mean_s: float | None
    claim_wait_median_s: float | None
    unanswered_handoffs: int
    aht_mean_s: float | None = Field(description="active handling seconds per handled conversation")
    handled: int = Field(description="conversations with a completed claim-to-close (or hand-back) stretch")
    agents: int
    copilot_acceptance: Rate = Field(description="suggestions inserted or edited / suggestions shown")
    copilot_edit_distance_mean: float | None


class SeriesPoint(BaseModel):
    bucket: date
    conversations: int
    bot_resolved: int
    handed_off: int
    after_hours: int
    bot_resolution_rate: float | None
    handoff_rate: float | None
    fcr_rate: float | None
    csat_responses: int
    csat_score: float | None


class BreakdownRow(BaseModel):
    key: str
    conversations: int
    bot_resolved: int
    bot_resolution_rate: float | None
    handoff_rate: float | None
    fcr_rate: float | None
    csat_responses: int
    csat_score: float | None
    aht_mean_s: float | None


class ReasonRow(BaseModel):
    reason: str
    handoffs: int
    share: float | None
    conversations: int


class AfterHoursRow(BaseModel):
    conversation_id: str
    created_at: datetime
    ticket: str | None
    queue: str
    topic: str
    first_response_s: float | None
    closed: bool


class AgentRow(BaseModel):
    agent: str
    conversations: int
    first_responses: int
    first_response_median_s: float | None
    first_response_mean_s: float | None
    handled: int
    aht_mean_s: float | None
    copilot_shown: int
    copilot_accepted: int
    copilot_acceptance_rate: float | None
    copilot_edited: int
    copilot_edit_distance_mean: float | None
    csat_responses: int
    csat_mean: float | None


class CopilotRow(BaseModel):
    kind: str
    shown: int
    inserted: int
    edited: int
    dismissed: int
    acceptance_rate: float | None
    edit_distance_mean: float | None


class CsatRow(BaseModel):
    rating: int
    responses: int
    share: float | None


class CsatCommentRow(BaseModel):
    conversation_id: str
    created_at: datetime
    rating: int
    resolved: bool | None
    comment: str


class FilterOptions(BaseModel):
    """What the filters can choose from in the date range."""

    queues: list[str]
    topics: list[str]
    channels: list[str]


class MetricsReport(BaseModel):
    tenant_id: str
    filter: dict[str, object]
    params: dict[str, object]
    generated_at: datetime
    summary: Summary
    series: list[SeriesPoint]
    queues: list[BreakdownRow]
    topics: list[BreakdownRow]
    channels: list[BreakdownRow]
    handoff_reasons: list[ReasonRow]
    after_hours: list[AfterHoursRow]
    agents: list[AgentRow]
    copilot: list[CopilotRow]
    csat: list[CsatRow]
    csat_comments: list[CsatCommentRow]
    options: FilterOptions


class ConversationRow(BaseModel):
    """One conversation behind a number (drill-down)."""

    id: str
    created_at: datetime
    customer_id: str | None
    channel: str
    queue: str
    topic: str
    state: str
    outcome: str
    handoff_reasons: list[str]
    customer_turns: int
    repeats: int
    clarifications: int
    agents: list[str]
    first_response_s: float | None
    handle_s: float | None
    fcr: bool | None
    reopened: bool
    csat: int | None
    resolved_said: bool | None
    ticket: str | None


class ConversationsReport(BaseModel):
    measure: str
    data: list[ConversationRow]
    count: int


class DraftLink(BaseModel):
    id: str
    title: str
    status: str
    conversation_id: str


class GapCluster(BaseModel):
    """Questions the bot could not answer, grouped by meaning."""

    label: str = Field(description="the question nearest the cluster's centre")
    questions: int
    conversations: int
    abstained: int
    no_answer: int
    examples: list[str]
    conversation_ids: list[str]
    drafts: list[DraftLink]


class GapsReport(BaseModel):
    tenant_id: str
    filter: dict[str, object]
    questions: int
    clusters: list[GapCluster]
    count: int
    clustering: dict[str, object]
