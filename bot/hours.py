"""Business hours from the tenant config (``timezone`` + ``business_hours``: ``{"mon": ["08:00", "20:00"], …}``).
A day that is not listed is closed; a tenant without ``business_hours`` is always open."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ConfigurationError

if TYPE_CHECKING:
    from core.tenancy import TenantConfig

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class BusinessHours:
    timezone: str = "UTC"
    windows: dict[str, tuple[time, time]] = field(default_factory=dict)
    always_open: bool = True
    closed_dates: frozenset[date] = frozenset()  # holidays, in the tenant's timezone

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
        """From a stored configuration dict: ``business_hours`` maps days (``mon`` or
        ``monday``) to ``"08:00-20:00"``, ``["08:00", "20:00"]`` or ``"closed"``."""
        from core.tenancy.config import parse_window

        tz = str(config.get("timezone") or "UTC")
        raw = config.get("business_hours")
        closed = config.get("closed_dates")
        dates = frozenset(date.fromisoformat(str(d)) for d in closed) if isinstance(closed, list) else frozenset()
        if not isinstance(raw, dict) or not raw:
            return cls(tz, {}, True, dates)
        windows: dict[str, tuple[time, time]] = {}
        for day, span in raw.items():
            try:
                window = parse_window(span)
            except ValueError as exc:
                raise ConfigurationError(f"business_hours[{day!r}] {exc}") from None
            if window is not None:
                windows[str(day).lower()[:3]] = window
        return cls(tz, windows, False, dates)

    @classmethod
    def from_typed(cls, config: TenantConfig) -> BusinessHours:
        from core.tenancy.config import parse_window

        if not config.business_hours:
            return cls(config.timezone, {}, True, frozenset(config.closed_dates))
        windows: dict[str, tuple[time, time]] = {}
        for day, span in config.business_hours.items():
            window = parse_window(span)
            if window is not None:
                windows[day] = window
        return cls(config.timezone, windows, False, frozenset(config.closed_dates))

    def local(self, at: datetime) -> datetime:
        return at.astimezone(ZoneInfo(self.timezone))

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        local = self.local(at)
        if local.date() in self.closed_dates:
            return False
        span = self.windows.get(DAYS[local.weekday()])
        return span is not None and span[0] <= local.time() < span[1]

    def next_opening(self, at: datetime) -> datetime | None:
        if self.always_open:
            return None
        local = self.local(at)
        for offset in range(8 + len(self.closed_dates)):
            day = local + timedelta(days=offset)
            span = self.windows.get(DAYS[day.weekday()])
            if span is None or day.date() in self.closed_dates:
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
