"""Timestamps without an offset: the house rule is that a naive datetime is UTC.

Naive values reach the rooms from three places: SQLite (SQLAlchemy's ``DateTime(timezone=True)``
stores no offset there and returns naive values, which were written as UTC by
``core.db.schema.utcnow``), date or date-time texts without a zone in imported records (a CRM
export's ``"2026-10-01"``), and clocks that callers pass in. Every room reads them with
``assume_utc`` so the rule is written once. (``utcnow``, the column default, lives beside the
schema in ``core.db.schema``.)
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["assume_utc"]


def assume_utc(moment: datetime) -> datetime:
    """``moment`` as an aware datetime: a naive one is read as UTC (its wall time labelled UTC,
    never the machine's local time); an aware one is returned unchanged, offset included.

    It does not convert: ``12:00+01:00`` stays ``12:00+01:00`` (the same instant as ``11:00Z``,
    so comparisons and subtraction agree). Call ``.astimezone(UTC)`` on the result to also
    normalise the offset, as ``analytics.facts.as_utc`` does.
    """
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
