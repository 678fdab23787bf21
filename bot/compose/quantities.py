"""Quantities in text: amounts of money, percentages, durations, dates, times of day, phone
numbers and plain numbers, each with a normalised key so two renderings of the same fact
compare equal ("£112" and "£112.00"; "two working days" and "2 working days"; "18 March
2026" and "2026-03-18").

Currency symbols are recognised by their Unicode category (``Sc``) and ISO 4217 codes by
shape, so no company's currency is written here. A number directly followed by ``p`` or
``c`` is a minor-unit amount ("8.50p", "50c").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

__all__ = ["Quantity", "quantities", "WORD_NUMBERS", "parse_number", "parse_date", "MONTHS"]

WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "ninety": 90, "hundred": 100,
}  # fmt: skip
MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ),
        start=1,
    )
    for m in names
}  # fmt: skip
_TIME_UNITS = {
    "minute": "minute", "minutes": "minute", "min": "minute", "mins": "minute",
    "hour": "hour", "hours": "hour", "hr": "hour", "hrs": "hour",
    "day": "day", "days": "day", "week": "week", "weeks": "week", "fortnight": "fortnight",
    "month": "month", "months": "month", "year": "year", "years": "year",
}  # fmt: skip
_QUALIFIERS = ("working", "business", "calendar", "full", "clear")

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_WORD_NUM = "|".join(sorted(WORD_NUMBERS, key=len, reverse=True))
_ISO_CODE = r"\b[A-Z]{3}\b"
_CURRENCY_SYMBOLS = "".join(
    sorted({chr(c) for c in range(0x20, 0x3000) if unicodedata.category(chr(c)) == "Sc"})
)
_SYM = f"[{re.escape(_CURRENCY_SYMBOLS)}]"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("date_iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    ("date_slash", re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b")),
    (
        "date_dmy",
        re.compile(
            r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(" + "|".join(MONTHS) + r")\.?(?:,?\s+(\d{4}))?\b", re.IGNORECASE
        ),
    ),
    (
        "date_mdy",
        re.compile(r"\b(" + "|".join(MONTHS) + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?\b", re.IGNORECASE),
    ),
    ("time_range", re.compile(r"\b(\d{1,2}):(\d{2})\s*(?:-|–|—|to|and|until)\s*(\d{1,2}):(\d{2})\b")),
    ("time_hm", re.compile(r"\b(\d{1,2}):(\d{2})\s*(am|pm|a\.m\.|p\.m\.)?(?![\d:])", re.IGNORECASE)),
    ("time_ampm", re.compile(r"\b(\d{1,2})\s*(am|pm|a\.m\.|p\.m\.)(?!\w)", re.IGNORECASE)),
    ("phone", re.compile(r"(?<![\w.])(\+?\d[\d ()-]{6,}\d)(?![\w.])")),
    ("money_sym", re.compile(rf"({_SYM})\s?({_NUM})(?:\s?(k|m|bn|million|billion))?", re.IGNORECASE)),
    ("money_code", re.compile(rf"\b({_NUM})\s?({_ISO_CODE[2:-2]})\b")),
    ("money_code_pre", re.compile(rf"\b({_ISO_CODE[2:-2]})\s?({_NUM})\b")),
    ("minor", re.compile(rf"(?<![\w.])({_NUM})\s?(p|c|ct|cents?|pence)\b", re.IGNORECASE)),
    ("percent", re.compile(rf"(?<![\w.])({_NUM})\s?(%|per\s?cent|percent)", re.IGNORECASE)),
    (
        "duration",
        re.compile(
            rf"(?<![\w.])({_NUM}|{_WORD_NUM}|an?|half an?)(?:\s*(?:-|to|–|or)\s*({_NUM}|{_WORD_NUM}))?\s+"
            rf"(?:({'|'.join(_QUALIFIERS)})\s+)?({'|'.join(sorted(_TIME_UNITS, key=len, reverse=True))})\b",
            re.IGNORECASE,
        ),
    ),
    ("free", re.compile(r"\b(?:free(?: of charge)?|no charge|at no cost|no cost|costs? nothing)\b", re.IGNORECASE)),
    ("number", re.compile(rf"(?<![\w.])({_NUM}|{_WORD_NUM})(?![\w])", re.IGNORECASE)),
]
_ISO_CODES_NOT_MONEY = frozenset({"THE", "AND", "FOR", "VAT", "PSR", "NOT", "ALL", "ANY", "YOU", "ARE", "CAN"})


@dataclass(frozen=True)
class Quantity:
    """One quantity found in a text.

    ``kind``: money | percent | duration | date | time | phone | number.
    ``key``: the normalised value two renderings share, e.g. ``("money", "£", 112.0)``,
    ``("duration", 2.0, "day", "working")``, ``("date", 2026, 3, 18)`` (year 0 when the text
    gives none), ``("phone", "01632960999")``; "free" / "no charge" is ``("money", "", 0.0)``.
    ``start``/``end``: character span in the text."""

    kind: str
    key: tuple[object, ...]
    text: str
    start: int
    end: int

    @property
    def value(self) -> float | None:
        """The numeric value of a money, percent, duration or number quantity."""
        if self.kind in ("money", "percent", "number"):
            v = self.key[-1]
            return float(v) if isinstance(v, int | float) else None
        if self.kind == "duration":
            v = self.key[1]
            return float(v) if isinstance(v, int | float) else None
        return None


def parse_number(text: str) -> float | None:
    t = text.strip().lower().replace(",", "")
    if t in WORD_NUMBERS:
        return float(WORD_NUMBERS[t])
    if t in ("a", "an"):
        return 1.0
    if t.startswith("half"):
        return 0.5
    try:
        return float(t)
    except ValueError:
        return None


def parse_date(day: str, month: str, year: str | None) -> tuple[int, int, int] | None:
    m = MONTHS.get(month.lower().rstrip("."))
    d = int(day)
    if m is None or not 1 <= d <= 31:
        return None
    y = int(year) if year else 0
    if year and len(year) == 2:
        y += 2000
    try:
        date(y or 2000, m, d)
    except ValueError:
        return None
    return y, m, d


def _date_key(y: int, m: int, d: int) -> tuple[object, ...]:
    return ("date", y, m, d)


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(start < e and s < end for s, e in spans)


def quantities(text: str) -> list[Quantity]:
    """Every quantity in ``text``, left to right; a span is claimed by the most specific
    pattern (a date before a number, money before a number)."""
    return list(_quantities(text))


@lru_cache(maxsize=16384)
def _quantities(text: str) -> tuple[Quantity, ...]:
    """``quantities`` computed once per text (KB units are read again every turn)."""
    found: list[Quantity] = []
    spans: list[tuple[int, int]] = []
    for name, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if _overlaps(spans, m.start(), m.end()):
                continue
            q = _make(name, m)
            if q is None:
                continue
            found.append(q)
            spans.append((m.start(), m.end()))
    return tuple(sorted(found, key=lambda q: q.start))


def _make(name: str, m: re.Match[str]) -> Quantity | None:  # noqa: C901 - one branch per pattern
    g = m.groups()
    text, start, end = m.group(0), m.start(), m.end()
    if name == "date_iso":
        y, mo, d = int(g[0]), int(g[1]), int(g[2])
        try:
            date(y, mo, d)
        except ValueError:
            return None
        return Quantity("date", _date_key(y, mo, d), text, start, end)
    if name == "date_slash":
        d, mo = int(g[0]), int(g[1])
        y = int(g[2]) + (2000 if len(g[2]) == 2 else 0)
        try:
            date(y, mo, d)
        except ValueError:
            return None
        return Quantity("date", _date_key(y, mo, d), text, start, end)
    if name in ("date_dmy", "date_mdy"):
        day, month = (g[0], g[1]) if name == "date_dmy" else (g[1], g[0])
        if month.lower() == "may" and name == "date_mdy" and not g[2]:
            return None  # "may 2 ..." is too often the verb
        ymd = parse_date(day, month, g[2])
        if ymd is None:
            return None
        return Quantity("date", _date_key(*ymd), text, start, end)
    if name == "time_range":
        h1, m1, h2, m2 = (int(x) for x in g)
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
            return None
        return Quantity("time", ("time", h1 % 24, m1, h2 % 24, m2), text, start, end)
    if name in ("time_hm", "time_ampm"):
        h = int(g[0])
        mi = int(g[1]) if name == "time_hm" else 0
        ampm = (g[2] if name == "time_hm" else g[1]) or ""
        if h > 24 or mi > 59 or (ampm and h > 12):
            return None
        if ampm.lower().startswith("p") and h < 12:
            h += 12
        if ampm.lower().startswith("a") and h == 12:
            h = 0
        return Quantity("time", ("time", h % 24, mi), text, start, end)
    if name == "phone":
        digits = re.sub(r"\D", "", g[0])
        if not 7 <= len(digits) <= 15 or " " not in g[0].strip() and "-" not in g[0] and len(digits) < 9:
            return None
        if re.fullmatch(r"\d{1,3}(,\d{3})+", g[0]):
            return None
        return Quantity("phone", ("phone", digits), text, start, end)
    if name == "money_sym":
        v = parse_number(g[1])
        if v is None:
            return None
        scale = {"k": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}.get((g[2] or "").lower(), 1.0)
        return Quantity("money", ("money", g[0], round(v * scale, 2)), text, start, end)
    if name in ("money_code", "money_code_pre"):
        num, code = (g[0], g[1]) if name == "money_code" else (g[1], g[0])
        if code in _ISO_CODES_NOT_MONEY:
            return None
        v = parse_number(num)
        return None if v is None else Quantity("money", ("money", code, round(v, 2)), text, start, end)
    if name == "minor":
        v = parse_number(g[0])
        unit = g[1].lower()
        unit = "p" if unit in ("p", "pence") else "c"
        return None if v is None else Quantity("money", ("money", unit, round(v, 2)), text, start, end)
    if name == "percent":
        v = parse_number(g[0])
        return None if v is None else Quantity("percent", ("percent", v), text, start, end)
    if name == "duration":
        v = parse_number(g[0])
        hi = parse_number(g[1]) if g[1] else None
        if v is None:
            return None
        unit = _TIME_UNITS[g[3].lower()]
        qual = (g[2] or "").lower()
        if qual == "business":
            qual = "working"
        if qual in ("full", "clear", "calendar"):
            qual = ""
        key: tuple[object, ...] = ("duration", v, unit, qual) if hi is None else ("duration", v, unit, qual, hi)
        return Quantity("duration", key, text, start, end)
    if name == "free":
        return Quantity("money", ("money", "", 0.0), text, start, end)
    if name == "number":
        v = parse_number(g[0])
        if v is None:
            return None
        return Quantity("number", ("number", v), text, start, end)
    return None
