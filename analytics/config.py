"""Per-tenant parameters of the measures, read from ``Tenant.config["analytics"]``.

The tenant configuration file (``core.tenancy.config.AnalyticsSettings``) holds
``reopen_window_hours`` and ``fcr_days``; the timezone (for days and weeks) is the tenant's
``timezone``. The other thresholds are constants of the measures, documented in
docs/analytics.md with their reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from analytics.errors import BadAnalyticsConfig
from core.tenancy.config import AnalyticsSettings

__all__ = [
    "DEFAULT_FCR_DAYS",
    "DEFAULT_REOPEN_WINDOW_HOURS",
    "IDLE_GAP",
    "INACTIVITY",
    "REPEAT_MIN_WORDS",
    "REPEAT_SIMILARITY",
    "AnalyticsParams",
]

DEFAULT_REOPEN_WINDOW_HOURS = AnalyticsSettings().reopen_window_hours  # 72 h
DEFAULT_FCR_DAYS = AnalyticsSettings().fcr_days  # 7 days

# A bot conversation nobody has written in for this long has ended (the customer left).
INACTIVITY = timedelta(minutes=30)
# In average handle time, a silence counts up to this long; the rest of it is idle time.
IDLE_GAP = timedelta(minutes=10)
# A customer message repeats an earlier one of the same conversation when their word-order-free
# similarity (rapidfuzz token_sort_ratio, 0-100) reaches this and it has at least this many words.
REPEAT_SIMILARITY = 85.0
REPEAT_MIN_WORDS = 3


@dataclass(frozen=True)
class AnalyticsParams:
    """What the measures need to know about one tenant."""

    reopen_window: timedelta = timedelta(hours=DEFAULT_REOPEN_WINDOW_HOURS)
    fcr_window: timedelta = timedelta(days=DEFAULT_FCR_DAYS)
    timezone: ZoneInfo = ZoneInfo("UTC")

    @classmethod
    def from_tenant_config(cls, config: dict[str, Any]) -> AnalyticsParams:
        """From ``Tenant.config``: ``analytics.reopen_window_hours`` (default 72),
        ``analytics.fcr_days`` (default 7) and ``timezone`` (default UTC).

        Raises ``BadAnalyticsConfig`` naming the field when a value is unusable."""
        raw = config.get("analytics") or {}
        if not isinstance(raw, dict):
            raise BadAnalyticsConfig("analytics: expected a mapping with reopen_window_hours and fcr_days")
        try:
            settings = AnalyticsSettings.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"analytics.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise BadAnalyticsConfig(problems) from None
        tz_name = str(config.get("timezone") or "UTC")
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise BadAnalyticsConfig(f"timezone: unknown timezone {tz_name!r}; use an IANA name") from None
        return cls(
            reopen_window=timedelta(hours=settings.reopen_window_hours),
            fcr_window=timedelta(days=settings.fcr_days),
            timezone=tz,
        )

    def describe(self) -> dict[str, object]:
        return {
            "reopen_window_hours": self.reopen_window / timedelta(hours=1),
            "fcr_days": self.fcr_window / timedelta(days=1),
            "timezone": str(self.timezone),
            "inactivity_minutes": INACTIVITY / timedelta(minutes=1),
            "idle_gap_minutes": IDLE_GAP / timedelta(minutes=1),
        }
