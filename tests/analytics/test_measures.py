"""Every measure against the value computed by hand from the seeded week (tests/analytics/sim.py).

The week, as the measures must see it (UTC; Berlin = UTC+1; q = queue as routed when written,
g = general; the tests read the queues the bot chose):

| conv | customer | when     | what happens                                                   | q       | CSAT         |
|------|----------|----------|----------------------------------------------------------------|---------|--------------|
| C1   | cus_001  | Mon 9:00 | answered, customer ends                                        | none    | 5 solved     |
| C2   | cus_002  | Mon 10   | answered, customer ends (C18: same topic 3 d 1 h later)        | none    | -            |
| C3   | cus_003  | Mon 11   | answered, customer leaves (ended by inactivity)                | none    | (not closed) |
| C4   | cus_004  | Tue 8    | answered, customer ends                                        | none    | 2 not solved |
| C5   | cus_005  | Tue 9    | answered, customer ends; back 6 h later (C6)                   | none    | -            |
| C6   | cus_005  | Tue 15   | explicit_request; anna claims +5, replies +6 +12, closes +15   | g       | 4 solved     |
| C14  | cus_011  | Tue 16   | widget opened, nothing written                                 | -       | -            |
| C7   | guest    | Wed 10   | explicit_request; ben claims +2, replies +3 +31, closes +32    | g       | -            |
| C8   | cus_006  | Wed 13   | abstain, then no_answer; anna claims +4, replies +5, closes +8 | g       | -            |
| C11  | cus_009  | Thu 10   | clarify, then answered; leaves                                 | none    | (not closed) |
| C18  | cus_002  | Thu 11   | answered (C2's topic), customer ends                           | none    | -            |
| C9   | cus_007  | Thu 14   | abstain; leaves                                                | none    | (not closed) |
| C17  | cus_014  | Thu 16   | abstain; leaves                                                | none    | (not closed) |
| C12  | cus_010  | Fri 10   | same question twice, answered; ends                            | none    | 4 solved     |
| C15  | cus_012  | Fri 11   | explicit_request; nobody took it                               | g       | -            |
| C13  | cus_001  | Fri 16   | answered; explicit_request; anna +3 +4, hands back +6; ends +8 | billing | -            |
| C10  | cus_008  | Sat 21   | after_hours + ticket; ben claims Mon 7:30, +1, closes 7:40     | g       | 3            |
| C16  | cus_013  | 16th     | abstain, 5 min before the supervisor looks (in progress)       | none    | -            |

Engaged (the customer wrote): 17 (C14 is empty). Settled (ended or a person involved): 16 (not C16).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from analytics import Analytics, Bucket, MetricsFilter, MetricsReport
from core.db.schema import Tenant
from tests.analytics.sim import NOW, Seeded, seeded_services
from tests.conftest import TENANT

WEEK = MetricsFilter(start=date(2026, 11, 2), end=date(2026, 11, 16))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    s = seeded_services(tmp_path_factory.mktemp("week"))
    yield s
    s.services.close()


def analytics_for(seeded: Seeded) -> Analytics:
    return Analytics(seeded.services.store, seeded.services.embedder, clock=lambda: NOW, gap_similarity=0.5)


@pytest.fixture(scope="module")
def analytics(seeded: Seeded) -> Analytics:
    return analytics_for(seeded)


@pytest.fixture(scope="module")
def report(analytics: Analytics) -> MetricsReport:
    return analytics.metrics(TENANT, WEEK)


def ids(seeded: Seeded, *names: str) -> set[str]:
    return {seeded.ids[n] for n in names}


def behind(analytics: Analytics, measure: str, flt: MetricsFilter = WEEK) -> set[str]:
    return {r.id for r in analytics.conversations(TENANT, flt, measure).data}


def test_the_classifier_put_the_conversations_where_the_plan_needs_them(seeded: Seeded) -> None:
    """FCR compares topics: the hand-computed values assume these (fake-model) topics."""
    t = seeded.topics
    assert t["C2"] == t["C18"] and t["C2"] is not None  # same topic: C2 is not FCR
    assert t["C1"] != t["C13"] and None not in (t["C1"], t["C13"])  # different: C1 is FCR
    assert t["C6"] is None  # "I want to talk to a person": unknown topic, matches C5's


def test_conversations_counted_and_empty_ones_left_out(report: MetricsReport) -> None:
    s = report.summary
    assert (s.conversations, s.empty, s.in_progress, s.settled) == (17, 1, 1, 16)


def test_bot_resolution_confirmed_apart_from_assumed(
    report: MetricsReport, analytics: Analytics, seeded: Seeded
) -> None:
    s = report.summary
    # contained: C1 C2 C3 C11 C12 C18. Not: C4 (said not solved), C5 (reopened by C6 within 72 h),
    # C9 C17 (the bot abstained last), every conversation a person touched.
    assert (s.bot_resolution.numerator, s.bot_resolution.denominator) == (6, 16)
    assert s.bot_resolution.value == 0.375
    assert (s.confirmed_resolution.numerator, s.confirmed_resolution.value) == (2, 0.125)  # C1, C12
    assert (s.assumed_resolution.numerator, s.assumed_resolution.value) == (4, 0.25)  # C2, C3, C11, C18
    assert s.reopened == 1
    assert behind(analytics, "bot_resolved") == ids(seeded, "C1", "C2", "C3", "C11", "C12", "C18")
    assert behind(analytics, "confirmed") == ids(seeded, "C1", "C12")
    assert behind(analytics, "reopened") == ids(seeded, "C5")
    assert behind(analytics, "in_progress") == ids(seeded, "C16")


def test_handoff_rate_reasons_and_after_hours_tickets(
    report: MetricsReport, analytics: Analytics, seeded: Seeded
) -> None:
    s = report.summary
    assert (s.handoff.numerator, s.handoff.denominator) == (6, 17)  # C6 C7 C8 C10 C13 C15
    assert s.handoff.value == round(6 / 17, 4)
    assert s.handoffs == 6
    reasons = {r.reason: (r.handoffs, r.share) for r in report.handoff_reasons}
    assert reasons == {
        "explicit_request": (4, round(4 / 6, 4)),
        "no_answer": (1, round(1 / 6, 4)),
        "after_hours": (1, round(1 / 6, 4)),
    }
    assert s.after_hours_tickets == 1
    [ticket] = report.after_hours
    assert ticket.conversation_id == seeded.ids["C10"] and ticket.ticket and ticket.closed
    assert ticket.first_response_s == 34 * 3600 + 31 * 60  # Sat 21:00 -> Mon 07:31
    assert behind(analytics, "reason:no_answer") == ids(seeded, "C8")
    assert behind(analytics, "after_hours") == ids(seeded, "C10")


def test_first_contact_resolution_within_the_tenants_days(
    report: MetricsReport, analytics: Analytics, seeded: Seeded
) -> None:
    s = report.summary
    # Ended conversations: 17 - C15 (waiting) - C16 (in progress) = 15. Repeat contacts within
    # 7 days on the same topic: C5 (C6, unknown topic), C2 (C18, same topic). C1 -> C13: another topic.
    assert (s.fcr.numerator, s.fcr.denominator) == (13, 15)
    assert behind(analytics, "repeat_contact") == ids(seeded, "C2", "C5")


def test_csat_with_response_rate(report: MetricsReport, analytics: Analytics, seeded: Seeded) -> None:
    s = report.summary
    # ratings 5 (C1), 2 (C4), 4 (C6), 4 (C12), 3 (C10); closed engaged conversations:
    # C1 C2 C4 C5 C6 C7 C8 C10 C12 C13 C18 = 11.
    assert (s.csat_score.numerator, s.csat_score.denominator, s.csat_score.value) == (3, 5, 0.6)
    assert s.csat_mean == 3.6
    assert (s.csat_response.numerator, s.csat_response.denominator) == (5, 11)
    assert [(r.rating, r.responses) for r in report.csat] == [(1, 0), (2, 1), (3, 1), (4, 2), (5, 1)]
    comments = {c.conversation_id: (c.rating, c.resolved, c.comment) for c in report.csat_comments}
    assert comments[seeded.ids["C4"]] == (2, False, "Did not work")
    assert behind(analytics, "csat:4") == ids(seeded, "C6", "C12")


def test_customer_effort_proxies(report: MetricsReport, analytics: Analytics, seeded: Seeded) -> None:
    s = report.summary
    # customer messages of the 16 settled: C1-C5 1 each, C6 2, C7 2, C8 3, C9 1, C10 1, C11 2,
    # C12 2, C13 3, C15 1, C17 1, C18 1 = 24
    assert s.customer_turns_mean == 1.5
    assert s.turns_to_resolution_bot == round(8 / 6, 2)  # C1 1, C2 1, C3 1, C11 2, C12 2, C18 1
    assert s.turns_to_resolution_human == 2.2  # C6 2, C7 2, C8 3, C10 1, C13 3
    assert (s.repeats, s.repeated.numerator, s.repeated.denominator) == (1, 1, 17)  # C12
    assert (s.clarifications, s.clarified.numerator) == (1, 1)  # C11
    assert behind(analytics, "repeated") == ids(seeded, "C12")
    assert behind(analytics, "clarified") == ids(seeded, "C11")


def test_agent_measures(report: MetricsReport, analytics: Analytics, seeded: Seeded) -> None:
    s = report.summary
    # first responses (handoff -> first agent message): C6 6 min, C7 3, C8 4, C13 3, C10 34 h 31 min
    frt = [360, 180, 240, 180, 124260]
    assert s.first_response_median_s == 240
    assert s.first_response_mean_s == sum(frt) / 5
    assert s.claim_wait_median_s == 180  # 5, 2, 3, 2 min and 34 h 30 min
    assert s.unanswered_handoffs == 1  # C15
    # handle time, claim to close or hand-back, silences capped at 10 min:
    # C6 1+4+2+3 = 10 min; C7 1+27->10+1+1 = 13; C8 1+3 = 4; C13 1+2 = 3; C10 1+9 = 10
    assert s.handled == 5 and s.aht_mean_s == (600 + 780 + 240 + 180 + 600) / 5
    assert s.agents == 2
    # copilot: shown s1..s6; accepted s1 (inserted), s3 and s6 (edited); edits of 1 and 5 characters
    assert (s.copilot_acceptance.numerator, s.copilot_acceptance.denominator) == (3, 6)
    assert s.copilot_edit_distance_mean == 3.0
    agents = {a.agent: a for a in report.agents}
    anna, ben = agents["agent:anna"], agents["agent:ben"]
    assert (anna.conversations, anna.first_response_median_s, anna.first_response_mean_s) == (3, 240, 260)
    assert anna.aht_mean_s == round((600 + 240 + 180) / 3, 2)
    assert (anna.copilot_shown, anna.copilot_accepted, anna.copilot_edit_distance_mean) == (3, 2, 1.0)
    assert (anna.csat_responses, anna.csat_mean) == (1, 4.0)
    assert (ben.conversations, ben.first_response_median_s, ben.aht_mean_s) == (2, (180 + 124260) / 2, 690)
    assert (ben.copilot_shown, ben.copilot_accepted, ben.copilot_edit_distance_mean) == (3, 1, 5.0)
    assert behind(analytics, "agent:agent:anna") == ids(seeded, "C6", "C8", "C13")
    kinds = {k.kind: (k.shown, k.inserted, k.edited, k.dismissed) for k in report.copilot}
    assert kinds == {"reply": (4, 1, 2, 0), "article": (2, 0, 0, 1)}


def test_knowledge_gaps_grouped_with_counts_examples_and_drafts(analytics: Analytics, seeded: Seeded) -> None:
    gaps = analytics.gap_report(TENANT, WEEK)
    assert gaps.questions == 5
    kayak, sponsor = gaps.clusters
    assert (kayak.questions, kayak.conversations, kayak.abstained, kayak.no_answer) == (3, 2, 2, 1)
    assert set(kayak.examples) == {"Kayak rental offered?", "Any kayak rental?", "Is kayak rental possible?"}
    assert set(kayak.conversation_ids) == ids(seeded, "C8", "C9")
    [draft] = kayak.drafts  # the learning loop drafted an article from C8 (an agent answered it)
    assert draft.conversation_id == seeded.ids["C8"] and draft.status == "pending"
    assert (sponsor.questions, sponsor.conversations, sponsor.drafts) == (2, 2, [])
    assert set(sponsor.conversation_ids) == ids(seeded, "C16", "C17")


def test_series_by_day_and_week(report: MetricsReport, analytics: Analytics) -> None:
    by_day = {p.bucket: p for p in report.series}
    assert len(by_day) == 15  # every day of the range, empty ones too
    counts = {d.day: (p.conversations, p.bot_resolved, p.handed_off) for d, p in by_day.items() if p.conversations}
    assert counts == {2: (3, 3, 0), 3: (3, 0, 1), 4: (2, 0, 2), 5: (4, 2, 0), 6: (3, 1, 2), 7: (1, 0, 1), 16: (1, 0, 0)}
    assert by_day[date(2026, 11, 5)].bot_resolution_rate == 0.5  # C11, C18 of C9 C11 C17 C18
    assert by_day[date(2026, 11, 7)].after_hours == 1
    assert by_day[date(2026, 11, 16)].bot_resolution_rate is None  # C16 is still running
    weekly = analytics.metrics(TENANT, WEEK.model_copy(update={"bucket": Bucket.week})).series
    assert [(p.bucket, p.conversations) for p in weekly] == [
        (date(2026, 11, 2), 16),
        (date(2026, 11, 9), 0),
        (date(2026, 11, 16), 1),
    ]


def test_filters_by_queue_topic_and_channel(analytics: Analytics, seeded: Seeded) -> None:
    # The queues of handed-off conversations are the bot's routing (tenant configuration): take them as played.
    handed = ("C6", "C7", "C8", "C10", "C13", "C15")
    assert all(seeded.queues[n] for n in handed) and not any(seeded.queues[n] for n in seeded.queues if n not in handed)
    for queue in {seeded.queues[n] for n in handed}:
        members = [n for n in handed if seeded.queues[n] == queue]
        q = analytics.metrics(TENANT, WEEK.model_copy(update={"queue": queue})).summary
        assert (q.conversations, q.handoff.value) == (len(members), 1.0), queue
        assert q.handled == len([n for n in members if n != "C15"]), queue  # every one but C15 was handled
        assert behind(analytics, "conversations", WEEK.model_copy(update={"queue": queue})) == ids(seeded, *members)
    bot_only = analytics.metrics(TENANT, WEEK.model_copy(update={"queue": "none"})).summary
    assert (bot_only.conversations, bot_only.bot_resolution.numerator, bot_only.bot_resolution.denominator) == (
        11,
        6,
        10,
    )
    topic = seeded.topics["C2"]
    assert topic is not None
    same_topic = {n for n, t in seeded.topics.items() if t == topic and n != "C14"}
    assert behind(analytics, "conversations", WEEK.model_copy(update={"topic": topic})) == ids(seeded, *same_topic)
    assert analytics.metrics(TENANT, WEEK.model_copy(update={"channel": "chat"})).summary.conversations == 17
    assert analytics.metrics(TENANT, WEEK.model_copy(update={"channel": "email"})).summary.conversations == 0
    one_day = MetricsFilter(start=date(2026, 11, 4), end=date(2026, 11, 4))
    assert behind(analytics, "conversations", one_day) == ids(seeded, "C7", "C8")
    report = analytics.metrics(TENANT, WEEK)
    assert report.options.queues == sorted({q for q in seeded.queues.values() if q} | {"none"})
    assert report.options.channels == ["chat"]


def test_the_tenants_reopen_window_and_fcr_days_are_used(seeded: Seeded) -> None:
    store = seeded.services.store
    with store.admin_session() as s:
        row = s.get(Tenant, TENANT)
        assert row is not None
        original = dict(row.config)
    try:
        store.ensure_tenant(TENANT, "Larkspur", {**original, "analytics": {"reopen_window_hours": 1, "fcr_days": 3}})
        s = analytics_for(seeded).metrics(TENANT, WEEK).summary
        # C5: C6 came 6 h later, after a 1 h window: C5 now counts as bot-resolved.
        assert (s.bot_resolution.numerator, s.reopened) == (7, 0)
        # C2: C18 came 3 d 1 h after C2 ended, after a 3-day window: C2 now counts as FCR.
        assert s.fcr.numerator == 14
    finally:
        store.ensure_tenant(TENANT, "Larkspur", original)


def test_another_tenants_conversations_are_not_counted(seeded: Seeded, tmp_path: Path) -> None:
    from server.auth import Principal, Role
    from server.service import ConversationService

    other = "other-shop"
    seeded.services.store.ensure_tenant(other, "Other", {"site_secret": "x", "timezone": "UTC"})
    svc = ConversationService(seeded.services)
    conv = svc.start(Principal(Role.customer, other, "cus_001", visitor_id="v"))
    svc.close(Principal(Role.agent, other, name="agent:zed"), conv.id)
    analytics = analytics_for(seeded)
    assert analytics.metrics(TENANT, WEEK).summary.conversations == 17
    mine = analytics.metrics(other, MetricsFilter.last_days(1, conv.created_at.date()))
    assert (mine.summary.conversations, mine.summary.empty) == (0, 1)
