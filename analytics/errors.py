"""Errors of the analytics room, grouped by who must act (see ``core.errors``).

    InvalidInput
    └── BadFilter            the supervisor asked for an impossible range or an unknown table/measure
    Conflict
    ├── NotRatable           the conversation is still open, or nothing was said in it
    └── AlreadyRated         the conversation has its one CSAT answer already
    ConfigurationError
    └── BadAnalyticsConfig   the tenant's ``analytics`` configuration cannot be read
"""

from __future__ import annotations

from core.errors import ConfigurationError, Conflict, InvalidInput

__all__ = ["AlreadyRated", "BadAnalyticsConfig", "BadFilter", "NotRatable"]


class BadFilter(InvalidInput):
    """The filter (dates, bucket, table, measure) cannot be used; the message says what is allowed."""


class NotRatable(Conflict):
    """CSAT is asked after a conversation closes, and only for a conversation the customer wrote in."""


class AlreadyRated(Conflict):
    """One CSAT answer per conversation."""


class BadAnalyticsConfig(ConfigurationError):
    """``Tenant.config["analytics"]`` holds a value the measures cannot use."""
