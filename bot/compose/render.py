"""Render chosen units as a short, readable, cited reply.

- a sentence, bullet item or short section as written;
- numbered steps as a numbered list, a bullet list as a list (with the sentence that
  introduces it);
- a table row as one sentence carrying its header: "Membership prices: Flexi — monthly fee:
  £25.00; joining fee: none.";
- a fact of the customer's own record as "Your account — payment: next payment date:
  Wednesday 18 March 2026.", keeping only the facts the question is about.

Each unit ends with the number of its source in brackets; sources are numbered in the
order they first appear, one number per article section (or "your account").

Money is formatted for the tenant's currency and language with Babel (CLDR data), dates
as "Wednesday 18 March 2026".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from babel.numbers import format_currency, get_currency_precision

from bot.compose.quantities import quantities
from bot.compose.question import WANT_KINDS, Part, content_stems
from bot.compose.units import ACCOUNT, AnswerUnit, iso_date
from core.types import Citation
from knowledge.context import AccountFact

__all__ = ["Rendered", "ValueFormatter", "render", "format_date", "unit_line"]

_SI_UNITS = {"kwh": "kWh", "mwh": "MWh", "kw": "kW", "gb": "GB", "mb": "MB", "tb": "TB", "km": "km", "kg": "kg"}


def format_date(d: date) -> str:
    """'Wednesday 18 March 2026' (English; unambiguous in every locale we answer in)."""
    return f"{d:%A} {d.day} {d:%B %Y}"


@dataclass(frozen=True)
class ValueFormatter:
    """Formats the customer's own facts for the tenant: ``currency`` is its ISO 4217 code
    (``TenantPolicy.currency``), ``locale`` a CLDR locale such as ``en_GB``."""

    currency: str = "USD"
    locale: str = "en"

    def money(self, value: float, currency: str = "") -> str:
        return str(format_currency(value, currency or self.currency, locale=self.locale))

    def minor_units(self) -> int:
        digits = int(get_currency_precision(self.currency))
        return int(10**digits)

    def __call__(self, fact: AccountFact) -> str:
        v = fact.value
        if fact.kind == "money" and isinstance(v, int | float):
            return self.money(float(v), fact.currency)
        if fact.kind == "rate" and isinstance(v, int | float):
            minor, per = fact.unit
            return f"{float(v):.2f}{minor} per {_SI_UNITS.get(per, per)}"
        if fact.kind == "date":
            d = iso_date(v)
            return format_date(d) if d else str(v)
        if fact.kind == "bool":
            return "yes" if v else "no"
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).replace("_", " ")


@dataclass
class Rendered:
    text: str
    citations: list[Citation]
    numbers: dict[int, int]  # id(unit) -> citation number


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\[\d+\]", "", text)).strip().rstrip(".").lower()


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", ":")) else f"{text}."


def _account_line(unit: AnswerUnit, parts: list[Part]) -> str:
    """The facts of one record group each part asks about (at most three per part)."""
    pairs = list(zip(unit.header, unit.cells, strict=False))
    if parts and len(pairs) > 2:
        keep: set[int] = set()
        for part in parts:
            asked = set(content_stems(part.text))
            wanted = [w for w in part.wants if w in WANT_KINDS]

            def relevance(pair: tuple[str, str], asked: set[str] = asked, wanted: list[str] = wanted) -> float:
                label, value = pair
                named = len(set(content_stems(f"{label} {value}")) & asked)
                kinds = {q.kind for q in quantities(value)}
                typed = any(kinds & WANT_KINDS[w] for w in wanted)
                return named + (1.5 if typed else 0.0)

            ranked = sorted(((relevance(p), i) for i, p in enumerate(pairs)), key=lambda x: (-x[0], x[1]))
            keep |= {i for r, i in ranked[:3] if r > 0}
        pairs = [pairs[i] for i in sorted(keep)] or pairs[:4]
    facts = "; ".join(f"{label}: {value}" if label else value for label, value in pairs)
    where = unit.section if unit.section and unit.section != "your account" else ""
    return f"Your account — {where}: {facts}." if where else f"Your account — {facts}."


def unit_line(unit: AnswerUnit, part: Part | list[Part] | None = None) -> str:
    """One unit as the customer reads it (no citation); ``part``: what it answers."""
    if unit.article_id == ACCOUNT:
        return _account_line(unit, part if isinstance(part, list) else [part] if part else [])
    if unit.kind == "row":
        cells = [c for c in unit.cells]
        where = unit.section if unit.section and unit.section != unit.title else ""
        if unit.header and len(unit.header) == len(cells):
            rest = "; ".join(f"{h.lower() if h[:1].isupper() and not h.isupper() else h}: {c}"
                             for h, c in zip(unit.header[1:], cells[1:], strict=True) if c)
            body = f"{cells[0]} — {rest}" if rest else cells[0]
        else:
            body = " — ".join(c for c in cells if c)
        return _sentence(f"{where}: {body}" if where else body)
    if unit.kind == "steps":
        lead = f"{unit.lead}\n" if unit.lead else ""
        return lead + "\n".join(f"{i}. {_sentence(s)}" for i, s in enumerate(unit.steps, start=1))
    if unit.kind in ("item", "step"):
        # An item alone loses its list's meaning ("You switch in the last 49 days."): say what
        # the list is about, from the sentence that introduced it or the section heading.
        item = re.sub(r"[,;]?\s+(?:or|and)\.?$", "", unit.text.strip()).rstrip(";,")
        lead = unit.lead.rstrip(":").strip() or (unit.section if unit.section != unit.title else "")
        if lead and len(lead) <= 120:
            return _sentence(f"{lead}: {item[:1].lower() + item[1:] if not item[:2].isupper() else item}")
        return _sentence(item)
    if unit.kind == "list":
        lead = f"{unit.lead}\n" if unit.lead else ""
        return lead + "\n".join(f"- {s.rstrip(';')}" for s in unit.steps)
    return _sentence(unit.text)


def render(chosen: list[tuple[AnswerUnit, Part | None]], extra: dict[int, list[str]] | None = None) -> Rendered:
    """The reply: every chosen unit once, cited; ``extra`` lines (worked dates and sums)
    follow the unit they were computed from (keyed by ``id(unit)``) with its citation."""
    extra = extra or {}
    numbers: dict[int, int] = {}
    by_source: dict[tuple[str, str], int] = {}
    citations: list[Citation] = []
    lines: list[str] = []
    seen: set[int] = set()
    asked_by: dict[int, list[Part]] = {}
    for unit, part in chosen:
        if part is not None:
            asked_by.setdefault(id(unit), []).append(part)
    for unit, _ in chosen:
        if id(unit) in seen:
            continue
        seen.add(id(unit))
        line = unit_line(unit, asked_by.get(id(unit), []))
        if any(_plain(line) in _plain(earlier) for earlier in lines):
            continue  # already said inside a longer unit (a section holds its sentences)
        key = (unit.article_id, unit.section if unit.article_id != ACCOUNT else "")
        if key not in by_source:
            by_source[key] = len(by_source) + 1
            citations.append(
                Citation(
                    n=by_source[key],
                    article_id=unit.article_id,
                    title=unit.title,
                    url=unit.url,
                    version=unit.version,
                    section=unit.section if unit.article_id != ACCOUNT else "",
                )
            )
        n = by_source[key]
        numbers[id(unit)] = n
        mark = f" [{n}]"
        lines.append(f"{line}{mark}")
        for more in extra.get(id(unit), []):
            lines.append(f"{_sentence(more)}{mark}")
    text = ""
    previous = ""
    for line in lines:
        if not text:
            text = line
        elif "\n" in line or "\n" in previous:
            text = f"{text}\n{line}"
        else:
            text = f"{text} {line}"
        previous = line
    return Rendered(text, citations, numbers)
