"""Per-tenant windows: defaults, the tenant's own values, and clear errors for bad ones."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from analytics import AnalyticsParams, BadAnalyticsConfig, BadFilter, Bucket, MetricsFilter


def test_defaults_and_the_tenants_values() -> None:
    default = AnalyticsParams.from_tenant_config({})
    assert (default.reopen_window, default.fcr_window, str(default.timezone)) == (
        timedelta(hours=72),
        timedelta(days=7),
        "UTC",
    )
    mine = AnalyticsParams.from_tenant_config(
        {"timezone": "Europe/Berlin", "analytics": {"reopen_window_hours": 24, "fcr_days": 3}}
    )
    assert (mine.reopen_window, mine.fcr_window, str(mine.timezone)) == (
        timedelta(hours=24),
        timedelta(days=3),
        "Europe/Berlin",
    )


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({"analytics": {"fcr_days": 0}}, "analytics.fcr_days"),
        ({"analytics": {"reopen_window_hours": "soon"}}, "analytics.reopen_window_hours"),
        ({"analytics": {"reopen_hours": 5}}, "analytics.reopen_hours"),
        ({"analytics": [1, 2]}, "analytics"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_bad_values_name_the_field(config: dict[str, object], names: str) -> None:
    with pytest.raises(BadAnalyticsConfig, match=names.replace(".", r"\.")):
        AnalyticsParams.from_tenant_config(config)


def test_weeks_start_on_monday_and_every_bucket_is_there() -> None:
    flt = MetricsFilter(start=date(2026, 11, 4), end=date(2026, 11, 17), bucket=Bucket.week)
    assert flt.buckets() == [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    assert len(MetricsFilter(start=date(2026, 11, 4), end=date(2026, 11, 17)).buckets()) == 14
    with pytest.raises(BadFilter, match="before it starts"):
        MetricsFilter(start=date(2026, 11, 4), end=date(2026, 11, 3))
