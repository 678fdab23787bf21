"""CSV of any table of the report (one row per model; lists joined with ``; ``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime

from pydantic import BaseModel

from analytics.report import Rate, Summary

__all__ = ["summary_rows", "to_csv"]


class SummaryRow(BaseModel):
    measure: str
    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None


def summary_rows(summary: Summary) -> list[SummaryRow]:
    """The tiles as a long table: rates with their numerator and denominator."""
    rows = []
    for name in Summary.model_fields:
        value = getattr(summary, name)
        if isinstance(value, Rate):
            rows.append(
                SummaryRow(measure=name, value=value.value, numerator=value.numerator, denominator=value.denominator)
            )
        else:
            rows.append(SummaryRow(measure=name, value=value))
    return rows


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        data = value.model_dump()
        return str(data.get("title") or data.get("id") or data)
    if isinstance(value, list | tuple):
        return "; ".join(_cell(v) for v in value)
    text = str(value)
    # A cell a spreadsheet would run as a formula is quoted as text (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_csv(rows: Sequence[BaseModel], columns: Sequence[str] | None = None) -> str:
    """RFC 4180 CSV with a header row; ``columns`` defaults to the model's fields."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if columns is None:
        columns = list(type(rows[0]).model_fields) if rows else []
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(getattr(row, c)) for c in columns])
    return out.getvalue()
