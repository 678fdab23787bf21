"""Business hours from the tenant config (``timezone`` + ``business_hours``: ``{"mon": ["08:00", "20:00"], …}``).
A day that is not listed is closed; a tenant without ``business_hours`` is always open."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ConfigurationError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hhmm(value: str) -> time:
    try:
        hh, mm = value.split(":")
        return time(int(hh), int(mm))
    except ValueError as exc:
        raise ConfigurationError(f"Business hours must look like '08:00', got {value!r}") from exc


@dataclass(frozen=True)
class BusinessHours:
    timezone: str = "UTC"
    windows: dict[str, tuple[time, time]] = field(default_factory=dict)
    always_open: bool = True

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigurationError(f"Unknown timezone {self.timezone!r} in the tenant config") from exc
        unknown = set(self.windows) - set(DAYS)
        if unknown:
            raise ConfigurationError(f"Unknown day(s) {sorted(unknown)} in business_hours; use {', '.join(DAYS)}")

    @classmethod
    def from_config(cls, config: dict[str, object]) -> BusinessHours:
        tz = str(config.get("timezone") or "UTC")
        raw = config.get("business_hours")
        if not isinstance(raw, dict) or not raw:
            return cls(tz, {}, True)
        windows: dict[str, tuple[time, time]] = {}
        for day, span in raw.items():
            if not isinstance(span, list | tuple) or len(span) != 2:
                raise ConfigurationError(f"business_hours[{day!r}] must be ['HH:MM', 'HH:MM']")
            windows[str(day).lower()[:3]] = (_hhmm(str(span[0])), _hhmm(str(span[1])))
        return cls(tz, windows, False)

    def local(self, at: datetime) -> datetime:
        return at.astimezone(ZoneInfo(self.timezone))

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        local = self.local(at)
        span = self.windows.get(DAYS[local.weekday()])
        return span is not None and span[0] <= local.time() < span[1]

    def next_opening(self, at: datetime) -> datetime | None:
        if self.always_open:
            return None
        local = self.local(at)
        for offset in range(8):
            day = local + timedelta(days=offset)
            span = self.windows.get(DAYS[day.weekday()])
            if span is None:
                continue
            start = day.replace(hour=span[0].hour, minute=span[0].minute, second=0, microsecond=0)
            if start > local:
                return start
        return None

    def describe(self) -> dict[str, object]:
        return {
            "timezone": self.timezone,
            "always_open": self.always_open,
            "windows": {d: [a.strftime("%H:%M"), b.strftime("%H:%M")] for d, (a, b) in self.windows.items()},
        }
