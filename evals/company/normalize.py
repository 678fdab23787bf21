"""Text normalisation and fact matching for company case files.

The rules are the ones a company's ``README.md`` states for ``facts`` and ``forbidden``
(the Brightwater development set documents them, ``../shared/data/companies/brightwater``):

- case-insensitive, whitespace collapsed, typographic dashes and quotes read as plain ones;
- money compared as an amount: ``£112`` matches ``£112.00`` (any currency symbol, the symbol
  must agree; thousands separators ignored: ``£1,000`` is ``£1000``);
- minor units (pence, cents) as an amount: ``15.00p`` matches ``15p``, ``15 pence`` and
  ``15.00p per kWh``;
- numbers written as words from one to twenty match digits: ``2 working days`` matches
  ``two working days``;
- ISO dates (``2026-03-18``) match any rendering of the same date: ``18 March 2026``,
  ``18/03/2026``, ``Wednesday 18 March``, ``March 18th``. A rendering without a year matches
  any year. A numeric ``dd/mm/yyyy`` whose two first parts are both 12 or less is ambiguous:
  it is read both ways (day first and month first);
- times: ``00:30`` matches ``12:30am``, ``12.30 a.m.`` and ``0:30``; ``17:00`` matches ``5pm``.

One addition the README leaves implicit: a fact that starts or ends with a digit does not
match inside a longer number (``8 weeks`` is not found in ``18 weeks``).

Everything here is pure (no I/O, no model); ``canonical`` is the one transformation both a
fact and a reply go through, so the two sides always agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

__all__ = [
    "Canonical",
    "NumberToken",
    "canonical",
    "contains",
    "find_all",
    "normalise",
    "numbers_in",
]

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-")
_QUOTES = {
    **dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b\u2032\u00b4\u0060"), "'"),
    **dict.fromkeys(map(ord, "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"), '"'),
}
_SPACES = re.compile(r"\s+")

NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
    if i >= 1
}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\b")

CURRENCY_SYMBOLS = "£$€¥₹₩₽₺₪₫฿₱₦"
_MONEY = re.compile(rf"([{CURRENCY_SYMBOLS}])\s?(\d+(?:\.\d+)?)(?![\d.]*\d)")
# Minor units written after the amount: 15p, 15.00p, 15 pence, 5c, 5 cents, 5¢.
_MINOR = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?(pence|p|cents?|c|¢)(?![a-z0-9])")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_ORDINAL = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b")

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_NUM_DATE = re.compile(r"(?<![\d/.])(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})(?![\d/])")
_DAY_MONTH = re.compile(rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?![a-z])(?:,?\s+(\d{{4}}))?")
_MONTH_DAY = re.compile(rf"(?<![a-z]){_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?(?!\d)(?:,?\s+(\d{{4}}))?")
_TIME_12 = re.compile(r"(?<![\d:.])(\d{1,2})(?:[:.](\d{2}))?\s?([ap])\.?\s?m\b\.?")
_TIME_24 = re.compile(r"(?<![\d:.])(\d{1,2}):(\d{2})(?![\d:])")

# A canonical token is wrapped in these marks; its payload has no digits outside the mark
# pair (placeholders are letters only), so later rules cannot re-read it.
_OPEN, _CLOSE = "\u27e6", "\u27e7"
_TOKEN = re.compile(rf"{_OPEN}([a-z]):([^{_CLOSE}]*){_CLOSE}")


def normalise(text: str) -> str:
    """Lower-case, NFKC, plain dashes and quotes, one space for any run of whitespace."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_QUOTES)
    return _SPACES.sub(" ", text).strip().lower()


def _amount(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _plain(value: Decimal) -> str:
    """``15.00`` → ``15``, ``8.50`` → ``8.5`` (no exponent)."""
    out = format(value.normalize(), "f")
    return out.rstrip("0").rstrip(".") if "." in out else out


@dataclass(frozen=True)
class NumberToken:
    """One number a text states: ``kind`` is money, minor, date, time or number.

    ``value`` is the amount (money, minor units and plain numbers), ``when`` the date (year 0
    when the text gave none) and ``minutes`` the time of day."""

    kind: str
    text: str
    value: Decimal | None = None
    unit: str = ""
    when: tuple[int, int, int] | None = None  # (year or 0, month, day)
    minutes: int | None = None


@dataclass
class Canonical:
    """A text with every amount, date and time replaced by a canonical mark."""

    text: str
    tokens: list[NumberToken] = field(default_factory=list)


def _valid_date(y: int, m: int, d: int) -> bool:
    try:
        date(y or 2000, m, d)  # 2000 is a leap year: 29 February without a year is valid
    except ValueError:
        return False
    return True


def canonical(text: str, *, number_words: bool = True) -> Canonical:
    """The normalised text with money, minor units, dates and times as canonical marks.

    ``number_words=False`` keeps "two" as a word (used when listing the numbers a reply
    states: a spelled-out number is not counted as a stated figure)."""
    s = normalise(text)
    s = _THOUSANDS.sub("", s)
    if number_words:
        s = _NUMBER_WORD.sub(lambda m: str(NUMBER_WORDS[m.group(1)]), s)
    tokens: list[NumberToken] = []

    def mark(kind: str, payload: str, token: NumberToken) -> str:
        tokens.append(token)
        return f"{_OPEN}{kind}:{payload}{_CLOSE}"

    def date_mark(raw: str, y: int, m: int, d: int) -> str | None:
        if not (1 <= m <= 12 and 1 <= d <= 31) or not _valid_date(y, m, d):
            return None
        return mark(
            "d", f"{y:04d}-{m:02d}-{d:02d}" if y else f"-----{m:02d}-{d:02d}", NumberToken("date", raw, when=(y, m, d))
        )

    def iso(m: re.Match[str]) -> str:
        return date_mark(m.group(0), int(m.group(1)), int(m.group(2)), int(m.group(3))) or m.group(0)

    def numeric(m: re.Match[str]) -> str:
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        y = y + 2000 if y < 100 else y
        readings = []
        if b <= 12:
            readings.append((y, b, a))  # day first
        if a <= 12 and a != b:
            readings.append((y, a, b))  # month first (the only reading when the day is over 12)
        marks = [x for r in readings if (x := date_mark(m.group(0), *r))]
        return "".join(marks) or m.group(0)

    def day_month(m: re.Match[str]) -> str:
        y = int(m.group(3)) if m.group(3) else 0
        return date_mark(m.group(0), y, _MONTHS[m.group(2)], int(m.group(1))) or m.group(0)

    def month_day(m: re.Match[str]) -> str:
        y = int(m.group(3)) if m.group(3) else 0
        return date_mark(m.group(0), y, _MONTHS[m.group(1)], int(m.group(2))) or m.group(0)

    def time12(m: re.Match[str]) -> str:
        h, mi = int(m.group(1)), int(m.group(2) or 0)
        if not (1 <= h <= 12 and mi < 60):
            return m.group(0)
        h = (h % 12) + (12 if m.group(3) == "p" else 0)
        return mark("t", f"{h:02d}.{mi:02d}", NumberToken("time", m.group(0), minutes=h * 60 + mi))

    def time24(m: re.Match[str]) -> str:
        h, mi = int(m.group(1)), int(m.group(2))
        if not (h < 24 and mi < 60):
            return m.group(0)
        return mark("t", f"{h:02d}.{mi:02d}", NumberToken("time", m.group(0), minutes=h * 60 + mi))

    def money(m: re.Match[str]) -> str:
        value = _amount(m.group(2))
        if value is None:
            return m.group(0)
        return mark("m", f"{m.group(1)}{value:.2f}", NumberToken("money", m.group(0), value=value, unit=m.group(1)))

    def minor(m: re.Match[str]) -> str:
        value = _amount(m.group(1))
        if value is None:
            return m.group(0)
        unit = "p" if m.group(2).startswith("p") else "c"
        return mark("u", f"{_plain(value)}{unit}", NumberToken("minor", m.group(0), value=value, unit=unit))

    s = _ISO_DATE.sub(iso, s)
    s = _NUM_DATE.sub(numeric, s)
    s = _DAY_MONTH.sub(day_month, s)
    s = _MONTH_DAY.sub(month_day, s)
    s = _TIME_12.sub(time12, s)
    s = _TIME_24.sub(time24, s)
    s = _MONEY.sub(money, s)
    s = _MINOR.sub(minor, s)
    s = _ORDINAL.sub(lambda m: m.group(1), s)
    # Letters only inside marks: replace the payload digits so no later search reads them.
    return Canonical(s, tokens)


def _pattern(fact: str) -> re.Pattern[str]:
    """A regular expression for the canonical form of ``fact``: dates without a year match
    any year, digits at the edges do not run into a longer number."""
    c = canonical(fact).text
    parts: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(c):
        parts.append(re.escape(c[pos : m.start()]))
        kind, payload = m.group(1), m.group(2)
        if kind == "d":
            year, rest = payload[:4], payload[4:]
            years = "(?:----|\\d{4})" if year == "----" else f"(?:{year}|----)"
            parts.append(re.escape(f"{_OPEN}d:") + years + re.escape(f"{rest}{_CLOSE}"))
        else:
            parts.append(re.escape(m.group(0)))
        pos = m.end()
    parts.append(re.escape(c[pos:]))
    body = "".join(parts)
    if c[:1].isdigit():
        body = r"(?<![\d.])" + body
    if c[-1:].isdigit():
        body += r"(?!\.?\d)"
    return re.compile(body)


def contains(text: str, fact: str) -> bool:
    """Whether ``text`` states ``fact`` under the rules above."""
    if not fact.strip():
        return True
    return _pattern(fact).search(canonical(text).text) is not None


def find_all(text: str, needles: list[str]) -> list[str]:
    """The needles (facts or forbidden strings) ``text`` contains, in their given order."""
    c = canonical(text).text
    return [n for n in needles if n.strip() and _pattern(n).search(c) is not None]


_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b|\S+\.(?:example|com|org|net|co\.uk)\S*")
_CITE_MARK = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_LIST_MARK = re.compile(r"(?m)^\s*\d{1,2}[.)]\s")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\d])")


def numbers_in(text: str, *, stated_only: bool = False) -> list[NumberToken]:
    """Every figure ``text`` states: money, minor units, dates, times and plain numbers.

    ``stated_only`` (used for replies) skips what is not a stated figure: links and e-mail
    addresses, citation marks like ``[1]``, list numbering, numbers written as words."""
    if stated_only:
        text = _URL.sub(" ", text)
        text = _CITE_MARK.sub(" ", text)
        text = _LIST_MARK.sub(" ", text)
    c = canonical(text, number_words=not stated_only)
    out = list(c.tokens)
    rest = _TOKEN.sub(" ", c.text)
    for m in _NUMBER.finditer(rest):
        value = _amount(m.group(1))
        if value is not None:
            out.append(NumberToken("number", m.group(0), value=value))
    return out


def add_working_days(start: date, days: int) -> date:
    """``start`` plus ``days`` working days (Monday to Friday)."""
    d = start
    step = 1 if days >= 0 else -1
    left = abs(days)
    while left:
        d += timedelta(days=step)
        if d.weekday() < 5:
            left -= 1
    return d
