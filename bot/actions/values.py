"""Reading one parameter's value from the customer's words, and checking it.

Two readings, by where the words come from:

- ``find_value`` — the opening request ("It says 18102 today", "spread it over 6 months"):
  only values a type can recognise (numbers, dates, enum choices, pattern matches); a free
  string is never guessed from a request;
- ``read_answer`` — the answer to our own question for that parameter: the whole message
  may be the value (a string such as an address).

Both return a ``Reading``: the value (or None) and, when the words hold a value that breaks
the parameter's rules, the problem as a sentence for the re-ask. Dates are ISO
(``YYYY-MM-DD``), "today"/"yesterday"/"tomorrow" in the tenant's timezone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from core.tenancy.actions import ActionParameter

__all__ = ["Reading", "SlotValue", "find_value", "human", "parse_date", "read_answer", "words_of"]

SlotValue = str | int | float

_WORD = re.compile(r"[a-z0-9]+")
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}
# A number token: not part of a word/identifier (E17L330962), an amount with a currency sign or a date.
_NUM = re.compile(r"(?<![\w.,/:-])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w/:]|[.,]\d|-\d)")
_CURRENCY_BEFORE = re.compile(r"[£$€¥₹]\s*$|\b[A-Z]{3}\s*$")
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        "january february march april may june july august september october november december".split()
    )
}
_MONTH_ALT = "|".join(sorted({*_MONTHS, *(m[:3] for m in _MONTHS), "sept"}, key=len, reverse=True))
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DMY = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{2,4})\b")
_D_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+({_MONTH_ALT})\.?(?:\s+(\d{{4}}))?\b", re.I)
_MONTH_D = re.compile(rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b", re.I)
_RELATIVE = {"today": 0, "tonight": 0, "this morning": 0, "yesterday": -1, "tomorrow": 1}
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_WEEKDAY = re.compile(r"\b(last|next|this|on)?\s*(" + "|".join(_WEEKDAYS) + r")\b", re.I)
_IN_DAYS = re.compile(r"\bin (\d{1,2}|a|one|two|three) (day|days|week|weeks)\b", re.I)
_NO_VALUE = re.compile(r"^\s*(?:yes|no|ok|okay|sure|y|n|thanks?|thank you|cancel|stop)\W*$", re.I)
_STOP = frozenset(
    "a an the and or of for to in on at by my our your me i it is are was be with this that from "
    "can could would will please want like need some any all just not do does".split()
)


@dataclass(frozen=True)
class Reading:
    value: SlotValue | None = None
    problem: str = ""  # a sentence saying what is wrong, for the re-ask

    @property
    def ok(self) -> bool:
        return self.value is not None and not self.problem


def human(name: str) -> str:
    """``meter_serial`` → ``meter serial``."""
    return re.sub(r"[_\-]+", " ", name).strip()


def _tokens(text: str) -> list[str]:
    """``text``'s runs of letters, digits and combining marks, casefolded: ASCII text as
    ``[a-z0-9]+`` of its lower case; other text NFKC-normalised first (a decomposed "é" is the
    composed one, full-width letters are ASCII), then split at every character whose Unicode
    category is not a letter (L*), number (N*) or mark (M*: an Indic vowel sign is part of its
    word)."""
    if text.isascii():
        return _WORD.findall(text.lower())
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c if unicodedata.category(c)[0] in "LNM" else " " for c in folded).split()


def words_of(text: str) -> set[str]:
    """Casefolded content words of any script ("Bürste" → ``{"bürste"}``, "Straße" →
    ``{"strasse"}``; stop words and one-character words dropped), with a plural's singular
    added (an English "s"). ASCII text gives what ``[a-z0-9]+`` of its lower case gives."""
    words = {w for w in _tokens(text) if w not in _STOP and len(w) > 1}
    return words | {w[:-1] for w in words if w.endswith("s") and len(w) > 3}


# -- dates -------------------------------------------------------------------------------


def _year(y: str | None, today: date) -> int:
    if not y:
        return today.year
    n = int(y)
    return n + 2000 if n < 100 else n


def parse_date(text: str, today: date) -> list[date]:
    """Every date the text names, in order of appearance (ISO, d/m/y, "3 March", "March 3",
    today / yesterday / tomorrow, a weekday — the coming one, or "last Friday" — and "in 3
    days"). A day-first reading is used for d/m/y (ISO 8601 is unambiguous and preferred)."""
    found: list[tuple[int, date]] = []
    low = text.lower()
    for word, delta in _RELATIVE.items():
        for m in re.finditer(rf"\b{word}\b", low):
            found.append((m.start(), today + timedelta(days=delta)))
    for m in _WEEKDAY.finditer(text):
        ahead = (_WEEKDAYS.index(m[2].lower()) - today.weekday()) % 7
        if (m[1] or "").lower() == "last":
            found.append((m.start(), today - timedelta(days=(7 - ahead) % 7 or 7)))
        else:  # "Friday" / "next Friday": the coming one (a week ahead when it is today)
            found.append((m.start(), today + timedelta(days=ahead or 7)))
    for m in _IN_DAYS.finditer(text):
        n = {"a": 1, "one": 1, "two": 2, "three": 3}.get(m[1].lower()) or int(m[1])
        found.append((m.start(), today + timedelta(days=n * (7 if m[2].lower().startswith("week") else 1))))
    patterns: list[tuple[re.Pattern[str], str]] = [(_ISO, "ymd"), (_DMY, "dmy"), (_D_MONTH, "dM"), (_MONTH_D, "Md")]
    for pattern, order in patterns:
        for m in pattern.finditer(text):
            try:
                if order == "ymd":
                    d = date(int(m[1]), int(m[2]), int(m[3]))
                elif order == "dmy":
                    d = date(_year(m[3], today), int(m[2]), int(m[1]))
                elif order == "dM":
                    d = date(_year(m[3], today), _MONTHS[_month_key(m[2])], int(m[1]))
                else:
                    d = date(_year(m[3], today), _MONTHS[_month_key(m[1])], int(m[2]))
            except (ValueError, KeyError):
                continue
            found.append((m.start(), d))
    found.sort(key=lambda x: x[0])
    out: list[date] = []
    for _, d in found:
        if d not in out:
            out.append(d)
    return out


def _month_key(token: str) -> str:
    t = token.lower().rstrip(".")
    if t == "sept":
        return "september"
    return next((m for m in _MONTHS if m.startswith(t[:3])), t)


def _date_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for p in (_ISO, _DMY, _D_MONTH, _MONTH_D) for m in p.finditer(text)]


# -- numbers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Number:
    value: float
    integral: bool
    start: int
    end: int
    money: bool


def _numbers(text: str) -> list[_Number]:
    dates = _date_spans(text)
    out: list[_Number] = []
    for m in _NUM.finditer(text):
        if any(a <= m.start() < b for a, b in dates):
            continue
        whole = m[1].replace(",", "")
        value = float(f"{whole}.{m[2]}") if m[2] else float(whole)
        money = bool(_CURRENCY_BEFORE.search(text[: m.start()]))
        out.append(_Number(value, not m[2], m.start(), m.end(), money))
    for m in re.finditer(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", text, re.I):
        out.append(_Number(float(_NUMBER_WORDS[m[1].lower()]), True, m.start(), m.end(), False))
    out.sort(key=lambda n: n.start)
    return out


def _near_name(text: str, n: _Number, name: str) -> bool:
    """The number sits next to a word of the parameter's name ("6 months", "reading of 18102")."""
    tokens = {t for t in words_of(human(name))}
    after = text[n.end : n.end + 24].lower()
    before = text[max(0, n.start - 24) : n.start].lower()
    near = set(_WORD.findall(after)[:2]) | set(_WORD.findall(before)[-2:])
    near |= {w[:-1] for w in near if w.endswith("s")}
    return bool(tokens & near)


def _check_range(p: ActionParameter, value: float) -> str:
    unit = human(p.name)
    if p.minimum is not None and value < p.minimum:
        if p.maximum is not None:
            return f"It needs to be between {_fmt(p.minimum)} and {_fmt(p.maximum)} {unit}."
        return f"It needs to be at least {_fmt(p.minimum)}."
    if p.maximum is not None and value > p.maximum:
        if p.minimum is not None:
            return f"It needs to be between {_fmt(p.minimum)} and {_fmt(p.maximum)} {unit}."
        return f"It can be at most {_fmt(p.maximum)}."
    return ""


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _number_reading(p: ActionParameter, text: str, *, answer: bool) -> Reading:
    numbers = [n for n in _numbers(text) if p.type == "number" or (n.integral and not n.money)]
    if not numbers:
        if answer and any(not n.integral for n in _numbers(text)) and p.type == "integer":
            return Reading(None, "Please give a whole number.")
        return Reading()
    near = [n for n in numbers if _near_name(text, n, p.name)]
    pool = near or numbers
    if len(pool) > 1 and not answer:
        pool = [n for n in pool if not n.money] or pool
        if len(pool) > 1:
            return Reading()  # several numbers and none named: ask rather than guess
    n = pool[0]
    value: SlotValue = int(n.value) if p.type == "integer" else n.value
    return Reading(value, _check_range(p, n.value))


# -- one parameter -----------------------------------------------------------------------


def _pattern_reading(p: ActionParameter, text: str) -> Reading:
    assert p.pattern is not None
    m = re.search(p.pattern, text, re.I)
    return Reading(" ".join(m.group(0).split())) if m else Reading()


def _enum_reading(p: ActionParameter, text: str) -> Reading:
    low = text.lower()
    hits = [c for c in p.choices if re.search(rf"(?<!\w){re.escape(c.lower())}(?!\w)", low)]
    return Reading(hits[0]) if len(hits) == 1 else Reading()


def find_value(p: ActionParameter, text: str, today: date) -> Reading:
    """A value for ``p`` stated in a free message (the opening request). Strings are never
    guessed; numbers only when one is named or unambiguous."""
    if p.type in ("integer", "number"):
        return _number_reading(p, text, answer=False)
    if p.type == "date":
        dates = parse_date(text, today)
        return Reading(dates[0].isoformat()) if len(dates) == 1 else Reading()
    if p.type == "enum":
        return _enum_reading(p, text)
    if p.type == "pattern":
        return _pattern_reading(p, text)
    return Reading()


def read_answer(p: ActionParameter, text: str, today: date) -> Reading:
    """The value in the customer's answer to our question for ``p``, or the problem with it."""
    if p.type in ("integer", "number"):
        r = _number_reading(p, text, answer=True)
        return r if r.value is not None or r.problem else Reading(None, f"Please give the {human(p.name)} as a number.")
    if p.type == "date":
        dates = parse_date(text, today)
        if not dates:
            return Reading(None, "Please give a date, for example today or " + today.isoformat() + ".")
        return Reading(dates[0].isoformat())
    if p.type == "enum":
        r = _enum_reading(p, text)
        return r if r.value is not None else Reading(None, "Please choose one of: " + ", ".join(p.choices) + ".")
    if p.type == "pattern":
        r = _pattern_reading(p, text)
        return r if r.value is not None else Reading(None, f"That doesn't look like a valid {human(p.name)}.")
    value = " ".join(text.split())
    if len(value) < 2 or _NO_VALUE.match(value):
        return Reading(None, f"I still need the {human(p.name)}.")
    return Reading(value)


def check_value(p: ActionParameter, value: SlotValue, today: date) -> str:
    """The problem with a value already held (a default, a value changed later), or ""."""
    if p.type in ("integer", "number"):
        try:
            return _check_range(p, float(value))
        except (TypeError, ValueError):
            return f"Please give the {human(p.name)} as a number."
    if p.type == "enum" and str(value) not in p.choices:
        return "Please choose one of: " + ", ".join(p.choices) + "."
    if p.type == "pattern" and p.pattern and not re.search(p.pattern, str(value), re.I):
        return f"That doesn't look like a valid {human(p.name)}."
    if p.type == "date":
        try:
            date.fromisoformat(str(value))
        except ValueError:
            return "Please give a date, for example " + today.isoformat() + "."
    return ""


def default_value(p: ActionParameter, today: date) -> SlotValue | None:
    """The configured default (``today``/``yesterday`` for dates), or None."""
    if p.default is None:
        return None
    if p.type == "date" and isinstance(p.default, str):
        dates = parse_date(p.default, today)
        return dates[0].isoformat() if dates else None
    return p.default
