"""The measures: pure functions from classified ``ConversationFacts`` to the report's rows.
Formulas (and why) are in docs/analytics.md; every rate is numerator / denominator as named."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from statistics import fmean, median
from zoneinfo import ZoneInfo

from analytics.facts import ConversationFacts, FeedbackFact
from analytics.filters import MetricsFilter
from analytics.report import (
    AfterHoursRow,
    AgentRow,
    BreakdownRow,
    ConversationRow,
    CopilotRow,
    CsatCommentRow,
    CsatRow,
    Rate,
    ReasonRow,
    SeriesPoint,
    Summary,
)

__all__ = [
    "after_hours_rows",
    "agent_rows",
    "breakdown",
    "conversation_row",
    "copilot_rows",
    "csat_comment_rows",
    "csat_rows",
    "reason_rows",
    "series",
    "summary",
]

ACCEPTED = ("inserted", "edited")


def _mean(values: Iterable[float]) -> float | None:
    vals = list(values)
    return round(fmean(vals), 2) if vals else None


def _median(values: Iterable[float]) -> float | None:
    vals = list(values)
    return round(float(median(vals)), 2) if vals else None


def _rate(num: int, den: int) -> float | None:
    return Rate.of(num, den).value


def _csat_score(convs: list[ConversationFacts]) -> tuple[int, float | None]:
    rated = [c.csat.rating for c in convs if c.csat is not None]
    return len(rated), _rate(sum(1 for r in rated if r >= 4), len(rated))


# -- copilot -------------------------------------------------------------------------------


def _accepted_sets(rows: Iterable[FeedbackFact]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(shown, accepted) as distinct (conversation, suggestion) pairs; an insert implies it was shown
    (the rule of ``copilot.feedback``)."""
    shown: set[tuple[str, str]] = set()
    accepted: set[tuple[str, str]] = set()
    for f in rows:
        pair = (f.conversation_id, f.suggestion_id)
        if f.event == "shown":
            shown.add(pair)
        elif f.event in ACCEPTED:
            accepted.add(pair)
    return shown | accepted, accepted


def copilot_rows(feedback: list[FeedbackFact]) -> list[CopilotRow]:
    by_kind: dict[str, list[FeedbackFact]] = defaultdict(list)
    for f in feedback:
        by_kind[f.kind].append(f)
    out = []
    for kind in sorted(by_kind):
        rows = by_kind[kind]
        shown, accepted = _accepted_sets(rows)
        events: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for f in rows:
            events[f.event].add((f.conversation_id, f.suggestion_id))
        out.append(
            CopilotRow(
                kind=kind,
                shown=len(shown),
                inserted=len(events["inserted"]),
                edited=len(events["edited"]),
                dismissed=len(events["dismissed"]),
                acceptance_rate=_rate(len(accepted), len(shown)),
                edit_distance_mean=_mean(f.edit_distance for f in rows if f.edit_distance is not None),
            )
        )
    return out


# -- the tiles -----------------------------------------------------------------------------


def summary(all_convs: list[ConversationFacts], feedback: list[FeedbackFact]) -> Summary:
    """``all_convs``: the filtered conversations, engaged or not."""
    convs = [c for c in all_convs if c.engaged]
    settled = [c for c in convs if c.settled]
    contained = [c for c in settled if c.contained]
    confirmed = [c for c in contained if c.confirmed]
    ended = [c for c in convs if c.fcr is not None]
    closed = [c for c in convs if c.closed_at is not None]
    rated = [c for c in convs if c.csat is not None]
    human_closed = [c for c in closed if c.human]
    responses = [r for c in convs for r in c.first_responses]
    handled = [c for c in convs if c.handle_s is not None]
    shown, accepted = _accepted_sets(feedback)
    return Summary(
        conversations=len(convs),
        empty=len(all_convs) - len(convs),
        in_progress=sum(1 for c in convs if c.in_progress),
        settled=len(settled),
        bot_resolution=Rate.of(len(contained), len(settled)),
        confirmed_resolution=Rate.of(len(confirmed), len(settled)),
        assumed_resolution=Rate.of(len(contained) - len(confirmed), len(settled)),
        reopened=sum(1 for c in convs if c.reopened),
        handoff=Rate.of(sum(1 for c in convs if c.handed_off), len(convs)),
        handoffs=sum(len(c.handoffs) for c in convs),
        after_hours_tickets=sum(1 for c in convs if c.after_hours),
        fcr=Rate.of(sum(1 for c in ended if c.fcr), len(ended)),
        csat_score=Rate.of(sum(1 for c in rated if c.csat and c.csat.rating >= 4), len(rated)),
        csat_mean=_mean(c.csat.rating for c in rated if c.csat),
        csat_response=Rate.of(sum(1 for c in closed if c.csat is not None), len(closed)),
        customer_turns_mean=_mean(c.customer_turns for c in settled),
        turns_to_resolution_bot=_mean(c.customer_turns for c in contained),
        turns_to_resolution_human=_mean(c.customer_turns for c in human_closed),
        repeated=Rate.of(sum(1 for c in convs if c.repeats), len(convs)),
        repeats=sum(c.repeats for c in convs),
        clarified=Rate.of(sum(1 for c in convs if c.clarifications), len(convs)),
        clarifications=sum(c.clarifications for c in convs),
        first_response_median_s=_median(r.seconds for r in responses),
        first_response_mean_s=_mean(r.seconds for r in responses),
        claim_wait_median_s=_median(w for c in convs for w in c.claim_waits_s),
        unanswered_handoffs=sum(c.unanswered_handoffs for c in convs),
        aht_mean_s=_mean(c.handle_s for c in handled if c.handle_s is not None),
        handled=len(handled),
        agents=len({a for c in convs for a in c.agents}),
        copilot_acceptance=Rate.of(len(accepted), len(shown)),
        copilot_edit_distance_mean=_mean(f.edit_distance for f in feedback if f.edit_distance is not None),
    )


# -- over time and by dimension --------------------------------------------------------------


def series(convs: list[ConversationFacts], flt: MetricsFilter, tz: ZoneInfo) -> list[SeriesPoint]:
    """One point per day (or ISO week) of the range, by the conversation's creation time."""
    by_bucket: dict[date, list[ConversationFacts]] = {b: [] for b in flt.buckets()}
    for c in convs:
        if c.engaged:
            by_bucket.setdefault(flt.bucket_of(c.created_at, tz), []).append(c)
    out = []
    for bucket in sorted(by_bucket):
        group = by_bucket[bucket]
        settled = [c for c in group if c.settled]
        ended = [c for c in group if c.fcr is not None]
        n_rated, score = _csat_score(group)
        resolved = sum(1 for c in settled if c.contained)
        handed = sum(1 for c in group if c.handed_off)
        out.append(
            SeriesPoint(
                bucket=bucket,
                conversations=len(group),
                bot_resolved=resolved,
                handed_off=handed,
                after_hours=sum(1 for c in group if c.after_hours),
                bot_resolution_rate=_rate(resolved, len(settled)),
                handoff_rate=_rate(handed, len(group)),
                fcr_rate=_rate(sum(1 for c in ended if c.fcr), len(ended)),
                csat_responses=n_rated,
                csat_score=score,
            )
        )
    return out


def breakdown(convs: list[ConversationFacts], key: Callable[[ConversationFacts], str]) -> list[BreakdownRow]:
    """The headline rates per queue, topic or channel, largest group first."""
    groups: dict[str, list[ConversationFacts]] = defaultdict(list)
    for c in convs:
        if c.engaged:
            groups[key(c)].append(c)
    out = []
    for name, group in groups.items():
        settled = [c for c in group if c.settled]
        ended = [c for c in group if c.fcr is not None]
        resolved = sum(1 for c in settled if c.contained)
        n_rated, score = _csat_score(group)
        out.append(
            BreakdownRow(
                key=name,
                conversations=len(group),
                bot_resolved=resolved,
                bot_resolution_rate=_rate(resolved, len(settled)),
                handoff_rate=_rate(sum(1 for c in group if c.handed_off), len(group)),
                fcr_rate=_rate(sum(1 for c in ended if c.fcr), len(ended)),
                csat_responses=n_rated,
                csat_score=score,
                aht_mean_s=_mean(c.handle_s for c in group if c.handle_s is not None),
            )
        )
    return sorted(out, key=lambda r: (-r.conversations, r.key))


def reason_rows(convs: list[ConversationFacts]) -> list[ReasonRow]:
    handoffs: Counter[str] = Counter()
    conversations: dict[str, set[str]] = defaultdict(set)
    for c in convs:
        if not c.engaged:
            continue
        for h in c.handoffs:
            handoffs[h.reason] += 1
            conversations[h.reason].add(c.id)
    total = sum(handoffs.values())
    return [
        ReasonRow(reason=r, handoffs=n, share=_rate(n, total), conversations=len(conversations[r]))
        for r, n in sorted(handoffs.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def after_hours_rows(convs: list[ConversationFacts]) -> list[AfterHoursRow]:
    rows = []
    for c in convs:
        if c.engaged and c.after_hours:
            first = c.first_responses[0].seconds if c.first_responses else None
            rows.append(
                AfterHoursRow(
                    conversation_id=c.id,
                    created_at=c.created_at,
                    ticket=c.ticket,
                    queue=c.queue,
                    topic=c.topic,
                    first_response_s=first,
                    closed=c.closed_at is not None,
                )
            )
    return sorted(rows, key=lambda r: r.created_at)


def agent_rows(convs: list[ConversationFacts], feedback: list[FeedbackFact]) -> list[AgentRow]:
    names: set[str] = set()
    handled: dict[str, set[str]] = defaultdict(set)
    frt: dict[str, list[float]] = defaultdict(list)
    aht: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    csat: dict[str, list[int]] = defaultdict(list)
    for c in convs:
        if not c.engaged:
            continue
        for agent in c.agents:
            names.add(agent)
            handled[agent].add(c.id)
            if c.csat is not None:
                csat[agent].append(c.csat.rating)
        for r in c.first_responses:
            names.add(r.agent)
            frt[r.agent].append(r.seconds)
        for s in c.segments:
            aht[s.agent][c.id] += s.active_s
    by_agent: dict[str, list[FeedbackFact]] = defaultdict(list)
    for f in feedback:
        by_agent[f.agent].append(f)
        if f.agent:
            names.add(f.agent)
    out = []
    for agent in sorted(names):
        shown, accepted = _accepted_sets(by_agent[agent])
        rows = by_agent[agent]
        out.append(
            AgentRow(
                agent=agent,
                conversations=len(handled[agent]),
                first_responses=len(frt[agent]),
                first_response_median_s=_median(frt[agent]),
                first_response_mean_s=_mean(frt[agent]),
                handled=len(aht[agent]),
                aht_mean_s=_mean(aht[agent].values()),
                copilot_shown=len(shown),
                copilot_accepted=len(accepted),
                copilot_acceptance_rate=_rate(len(accepted), len(shown)),
                copilot_edited=len({(f.conversation_id, f.suggestion_id) for f in rows if f.event == "edited"}),
                copilot_edit_distance_mean=_mean(f.edit_distance for f in rows if f.edit_distance is not None),
                csat_responses=len(csat[agent]),
                csat_mean=_mean(csat[agent]),
            )
        )
    return out


def csat_rows(convs: list[ConversationFacts]) -> list[CsatRow]:
    counts = Counter(c.csat.rating for c in convs if c.engaged and c.csat is not None)
    total = sum(counts.values())
    return [CsatRow(rating=r, responses=counts[r], share=_rate(counts[r], total)) for r in range(1, 6)]


def csat_comment_rows(convs: list[ConversationFacts], limit: int = 100) -> list[CsatCommentRow]:
    rows = [
        CsatCommentRow(
            conversation_id=c.id,
            created_at=c.csat.at,
            rating=c.csat.rating,
            resolved=c.csat.resolved,
            comment=c.csat.comment,
        )
        for c in convs
        if c.engaged and c.csat is not None and (c.csat.comment or c.csat.resolved is not None)
    ]
    return sorted(rows, key=lambda r: r.created_at, reverse=True)[:limit]


def conversation_row(c: ConversationFacts) -> ConversationRow:
    return ConversationRow(
        id=c.id,
        created_at=c.created_at,
        customer_id=c.customer_id,
        channel=c.channel,
        queue=c.queue,
        topic=c.topic,
        state=c.state,
        outcome=c.outcome,
        handoff_reasons=[h.reason for h in c.handoffs],
        customer_turns=c.customer_turns,
        repeats=c.repeats,
        clarifications=c.clarifications,
        agents=sorted(c.agents),
        first_response_s=c.first_responses[0].seconds if c.first_responses else None,
        handle_s=round(c.handle_s, 2) if c.handle_s is not None else None,
        fcr=c.fcr,
        reopened=c.reopened,
        csat=c.csat.rating if c.csat else None,
        resolved_said=c.csat.resolved if c.csat else None,
        ticket=c.ticket,
    )
