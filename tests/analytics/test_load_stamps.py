"""Timestamps read back as text from SQLite by the analytics loader."""

from __future__ import annotations

from datetime import UTC, datetime

from analytics.load import _parse_text


def test_a_stored_text_is_read_as_utc_and_an_offset_is_converted() -> None:
    assert _parse_text("2026-12-01 10:00:00.000000") == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert _parse_text("2026-12-01T10:00:00+02:00") == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert _parse_text("2026-12-01T10:00:00+02:00").utcoffset() is not None
    assert _parse_text(datetime(2026, 12, 1, 10)) == datetime(2026, 12, 1, 10, tzinfo=UTC)
