"""Deterministic dates and simple sums, shown with their working, only from cited numbers.

``deadline``: a unit says "within 14 days of your moving date" and the customer said when
they move ("on 27 March") → "From Friday 27 March 2026, 14 days is Friday 10 April 2026."
"today" is the tenant's today (its timezone). Working days skip Saturdays, Sundays and
the tenant's closed dates. A date without a year is the next such date from today.

``sums``: a unit gives a rate ("£6 per line for each full month left, up to a maximum of
£90 per line"; "8.50p per GB off-peak") and the customer gives a count of the same thing
("9 full months left"; "40 GB") → "9 months × £6 = £54 per line" (and "× 2 = £108" when
they say "both"). Minor units convert to the major unit with the currency's precision.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.compose.quantities import Quantity, quantities
from bot.compose.question import content_stems, stem

__all__ = ["Anchor", "anchors", "deadline", "sums", "add_duration"]


@dataclass(frozen=True)
class Anchor:
    """A date the customer gave, and the words of the sentence that gave it."""

    day: date
    words: frozenset[str]
    today: bool = False


_TODAY = re.compile(r"\b(today|now|tonight|this morning|this afternoon)\b", re.I)
_TOMORROW = re.compile(r"\btomorrow\b", re.I)


def _resolve(q: Quantity, today: date) -> date | None:
    _, y, m, d = q.key
    assert isinstance(y, int) and isinstance(m, int) and isinstance(d, int)
    if y:
        return date(y, m, d)
    candidate = date(today.year, m, d)
    return candidate if candidate >= today - timedelta(days=1) else date(today.year + 1, m, d)


def anchors(texts: Iterable[str], today: date) -> list[Anchor]:
    """Dates the customer gave in ``texts`` (latest message last), most recent first."""
    out: list[Anchor] = []
    for text in reversed(list(texts)):
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            words = frozenset(content_stems(sentence))
            for q in quantities(sentence):
                if q.kind == "date":
                    day = _resolve(q, today)
                    if day is not None:
                        out.append(Anchor(day, words))
            if _TODAY.search(sentence):
                out.append(Anchor(today, words, today=True))
            elif _TOMORROW.search(sentence):
                out.append(Anchor(today + timedelta(days=1), words))
    return out


def add_duration(start: date, amount: float, unit: str, working: bool, closed: frozenset[date]) -> date | None:
    """``start`` plus a duration; working days skip weekends and ``closed`` dates."""
    n = int(amount)
    if n != amount or n < 0 or n > 3660:
        return None
    if unit == "day" and working:
        day = start
        left = n
        while left > 0:
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in closed:
                left -= 1
        return day
    if unit == "day":
        return start + timedelta(days=n)
    if unit == "week":
        return start + timedelta(weeks=n)
    if unit == "fortnight":
        return start + timedelta(weeks=2 * n)
    if unit == "month" or unit == "year":
        months = n if unit == "month" else 12 * n
        y, m = divmod(start.month - 1 + months, 12)
        year, month = start.year + y, m + 1
        for d in (start.day, 30, 29, 28):
            try:
                return date(year, month, d)
            except ValueError:
                continue
    return None


_RELATION = re.compile(r"\b(within|in|after|of|from|before|by|up to)\s*$", re.I)
_EVENT = re.compile(r"^\s*(?:of|after|from|before|following)\s+((?:\w+[\s'’-]*){1,5})", re.I)


def deadline(
    unit_text: str,
    anchor_list: list[Anchor],
    closed: frozenset[date],
    fmt: Callable[[date], str],
) -> str | None:
    """The date a unit's duration lands on from the customer's date, with the working.

    Only when the unit's duration counts from the event the customer dated (the words
    after "of/after/from" meet the words of the customer's sentence), or from now when
    the customer said "today" and the unit names no other event."""
    durations = [q for q in quantities(unit_text) if q.kind == "duration" and len(q.key) == 4]
    if len(durations) != 1 or not anchor_list:
        return None
    q = durations[0]
    before = unit_text[: q.start]
    after = unit_text[q.end :]
    relation = _RELATION.search(before[-20:])
    if relation is None:
        return None
    event = _EVENT.match(after)
    event_words = set(content_stems(event.group(1))) if event else set()
    chosen: Anchor | None = None
    for a in anchor_list:
        if event_words and event_words & a.words:
            chosen = a
            break
        if not event_words and a.today:
            chosen = a
            break
    if chosen is None:
        return None
    _, amount, unit, qual = q.key
    assert isinstance(amount, float) and isinstance(unit, str)
    rel = relation.group(1).lower()
    if rel == "before":
        day: date | None = None
        n = int(amount)
        if unit == "day" and qual != "working":
            day = chosen.day - timedelta(days=n)
        if day is None:
            return None
        return f"{fmt(day)} is {q.text} before {fmt(chosen.day)}"
    end = add_duration(chosen.day, amount, unit, qual == "working", closed)
    if end is None:
        return None
    start = "today" if chosen.today else fmt(chosen.day)
    by = "by " if rel in ("within", "in", "up to", "by") else ""
    return f"From {start}, {q.text} is {by}{fmt(end)}"


# -- sums ----------------------------------------------------------------------------------

_PER = re.compile(r"\s*(?:per|a|an|each|for each|for every|every)\s+(?:full\s+|complete\s+)?([A-Za-z][\w-]*)", re.I)
_CAP = re.compile(r"\b(?:maximum|max\.?|capped at|cap of|no more than|at most)\b", re.I)
_BOTH = re.compile(r"\bboth\b", re.I)


@dataclass(frozen=True)
class _Rate:
    amount: Quantity
    pers: tuple[str, ...]  # stems of what it is per, in order ("line", "month")
    context: frozenset[str]


def _rates(text: str) -> list[_Rate]:
    out: list[_Rate] = []
    for q in quantities(text):
        if q.kind != "money":
            continue
        pers: list[str] = []
        pos = q.end
        for _ in range(2):
            m = _PER.match(text, pos)
            if not m:
                break
            pers.append(stem(m.group(1)))
            pos = m.end()
        if not pers:
            continue
        window = re.split(r"[,;|]", text[q.start : pos + 25])[0] + " " + text[max(0, q.start - 40) : q.start]
        out.append(_Rate(q, tuple(pers), frozenset(content_stems(window))))
    return out


def _counts(text: str) -> list[tuple[float, str]]:
    """(count, stem of what is counted) the customer gave: "9 full months", "40 GB"."""
    out: list[tuple[float, str]] = []
    for q in quantities(text):
        if re.search(r"[A-Z][\w-]*\s+$", text[: q.start]):
            continue  # part of a name ("Plan 7", "Gold 24"), not a count
        if q.kind == "duration" and len(q.key) == 4:
            amount, unit = q.key[1], q.key[2]
            assert isinstance(amount, float) and isinstance(unit, str)
            out.append((amount, unit))
        elif q.kind == "number":
            m = re.match(r"\s*(?:full\s+)?([A-Za-z][\w-]*)", text[q.end :])
            if m and q.value is not None:
                out.append((q.value, stem(m.group(1))))
    return out


def _money_text(value: float, symbol_of: Quantity, major: Callable[[float], str], minor_per_major: int) -> str:
    unit = str(symbol_of.key[1])
    if len(unit) == 1 and not unit.isalpha():  # a currency symbol
        return major(value)
    if unit.isalpha() and len(unit) <= 2:  # minor units ("p", "c")
        text = f"{value:.2f}".rstrip("0").rstrip(".") + unit
        return text if value < minor_per_major else f"{text} = {major(value / minor_per_major)}"
    return f"{value:.2f} {unit}"


def sums(
    question_text: str,
    unit_text: str,
    major: Callable[[float], str],
    minor_per_major: int,
) -> str | None:
    """The sum the question implies from a unit's rate, with its working, or None."""
    counts = _counts(question_text)
    if not counts:
        return None
    asked = set(content_stems(question_text))
    best: tuple[float, _Rate, float, str] | None = None
    for rate in _rates(unit_text):
        for count, what in counts:
            if what not in rate.pers:
                continue
            overlap = len(rate.context & asked)
            if best is None or overlap > best[0]:
                best = (overlap, rate, count, what)
    if best is None:
        return None
    _, rate, count, what = best
    value = rate.amount.value
    if value is None:
        return None
    total = count * value
    shown_count = f"{count:g}"
    what_text = next((w for w in re.findall(r"[A-Za-z][\w-]*", unit_text[rate.amount.end :]) if stem(w) == what), what)
    if count != 1 and what_text == what and not what_text.endswith("s") and what_text.islower():
        what_text += "s"
    first = _money_text(total, rate.amount, major, minor_per_major)
    working = f"{shown_count} {what_text} × {rate.amount.text} = {first}"
    result = _money_text(total, rate.amount, major, minor_per_major).split(" = ")[-1]
    others = [p for p in rate.pers if p != what]
    if others:
        per = others[0]
        cap = None
        for m in _CAP.finditer(unit_text):
            after = [q for q in quantities(unit_text[m.end() : m.end() + 40]) if q.kind == "money"]
            if after:
                cap = after[0]
                break
        if cap is not None and cap.value is not None and total > cap.value:
            total = cap.value
            working += f", capped at {cap.text} per {per}"
        else:
            working += f" per {per}"
        result = f"{_money_text(total, rate.amount, major, minor_per_major).split(' = ')[-1]} per {per}"
        if _BOTH.search(question_text):
            both = _money_text(2 * total, rate.amount, major, minor_per_major)
            working += f"; for both, 2 × {_money_text(total, rate.amount, major, minor_per_major)} = {both}"
            result = both.split(" = ")[-1]
    return f"That comes to {result} ({working})"
