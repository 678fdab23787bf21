"""One rule for timestamps without an offset: a naive datetime is UTC (``core.clock``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.clock import assume_utc

BERLIN_WINTER = timezone(timedelta(hours=1))


def test_a_naive_datetime_is_read_as_utc_not_as_the_machines_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")  # a machine far from UTC changes nothing
    time.tzset()
    try:
        got = assume_utc(datetime(2026, 10, 1, 12, 30))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert got == datetime(2026, 10, 1, 12, 30, tzinfo=UTC)
    assert got.utcoffset() == timedelta(0)


def test_an_aware_datetime_keeps_its_offset_and_its_instant() -> None:
    noon_berlin = datetime(2026, 11, 18, 12, 0, tzinfo=BERLIN_WINTER)
    got = assume_utc(noon_berlin)
    assert got is noon_berlin  # returned as given: not converted, not relabelled
    assert got.utcoffset() == timedelta(hours=1)


def test_an_aware_utc_datetime_is_returned_unchanged() -> None:
    moment = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
    assert assume_utc(moment) is moment
