"""What the supervisor looks at: a date range in the tenant's timezone, and optional queue,
topic and channel; plus the time bucket of the series."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator

from analytics.errors import BadFilter

__all__ = ["MAX_RANGE_DAYS", "NO_QUEUE", "UNKNOWN_TOPIC", "Bucket", "MetricsFilter"]

MAX_RANGE_DAYS = 366
NO_QUEUE = "none"  # the queue of a conversation that never reached a person
UNKNOWN_TOPIC = "unknown"  # the topic of a conversation the bot could not place


class Bucket(str, Enum):
    day = "day"
    week = "week"  # ISO weeks, starting Monday


class MetricsFilter(BaseModel):
    """Conversations created from ``start`` to ``end`` (both inclusive, tenant-local dates).

    ``queue``: a handoff queue, or ``"none"`` for conversations no person was asked to take.
    ``topic``: the bot's topic (intent) of the conversation, or ``"unknown"``.
    ``channel``: the channel of entry (``chat`` for the widget)."""

    start: date
    end: date
    queue: str | None = Field(default=None, max_length=64)
    topic: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=32)
    bucket: Bucket = Bucket.day

    @model_validator(mode="after")
    def _sane_range(self) -> MetricsFilter:
        if self.end < self.start:
            raise BadFilter(f"The range ends ({self.end}) before it starts ({self.start}).")
        if (self.end - self.start).days >= MAX_RANGE_DAYS:
            raise BadFilter(f"The range is longer than {MAX_RANGE_DAYS} days; pick a shorter one.")
        for name in ("queue", "topic", "channel"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                setattr(self, name, None)
        return self

    @classmethod
    def last_days(cls, days: int, today: date, **kwargs: object) -> MetricsFilter:
        return cls(start=today - timedelta(days=days - 1), end=today, **kwargs)  # type: ignore[arg-type]

    def utc_bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[first instant of ``start``, first instant after ``end``) in UTC."""
        lo = datetime.combine(self.start, time(0), tzinfo=tz).astimezone(UTC)
        hi = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        return lo, hi

    def bucket_of(self, moment: datetime, tz: ZoneInfo) -> date:
        """The day (or the Monday of the ISO week) of ``moment`` in the tenant's timezone."""
        local = moment.astimezone(tz).date()
        return local - timedelta(days=local.weekday()) if self.bucket is Bucket.week else local

    def buckets(self) -> list[date]:
        """Every bucket of the range, in order (empty ones included, so charts have no holes)."""
        first = self.start - timedelta(days=self.start.weekday()) if self.bucket is Bucket.week else self.start
        step = timedelta(days=7 if self.bucket is Bucket.week else 1)
        out, cur = [], first
        while cur <= self.end:
            out.append(cur)
            cur += step
        return out

    def describe(self) -> dict[str, object]:
        return self.model_dump(mode="json")
