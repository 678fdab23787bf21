"""Texts around an action: templates from the tenant's configuration, filled with the
parameters and the result, and the generic wording when the configuration has none.

Templates use ``{param}``, ``{param_label}`` (how a chosen record was shown, e.g. an order
with its items) and ``{result.path.to.field}``; a missing field renders empty rather than
failing a customer's turn. Every parameter is shown in a confirmation: when the template
leaves one out, it is added as "name: value".
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

from bot.actions.values import SlotValue, human
from core.tenancy.actions import ActionSpec

__all__ = ["confirmation_text", "fill", "money", "render_result", "result_text"]

YES_NO = "Please reply yes or no."


class _Formatter(string.Formatter):
    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, str]:
        value: Any = kwargs
        for part in field_name.split("."):
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return "", field_name
        return value, field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None:
            return ""
        if isinstance(value, Mapping | list):
            return render_result(value)
        try:
            return str(super().format_field(value, format_spec))
        except (ValueError, TypeError):
            return str(value)


_FMT = _Formatter()


def fill(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with ``{name}`` / ``{a.b}`` filled from ``values``; unknown fields are empty.
    A template that is not valid format syntax is returned as written."""
    try:
        return " ".join(_FMT.vformat(template, (), values).split())
    except (ValueError, IndexError, KeyError):
        return template


def _shown(value: SlotValue | None) -> str:
    return "" if value is None else str(value)


def confirmation_text(
    spec: ActionSpec, args: Mapping[str, SlotValue | None], labels: Mapping[str, str], options: Mapping[str, Any]
) -> str:
    """The question before a write: the tenant's template (or a generic one) with every
    parameter visible, then "Please reply yes or no."."""
    values = {**options, **{k: _shown(v) for k, v in args.items()}, **{f"{k}_label": v for k, v in labels.items()}}
    for p in spec.parameters:
        values.setdefault(f"{p.name}_label", _shown(args.get(p.name)))
    if spec.confirmation:
        text = fill(spec.confirmation, values)
        missing = [p for p in spec.parameters if args.get(p.name) is not None and _shown(args[p.name]) not in text]
        if missing:
            text += " (" + ", ".join(f"{human(p.name)}: {_shown(args[p.name])}" for p in missing) + ")"
    else:
        shown = ", ".join(
            f"{human(p.name)} {labels.get(p.name) or _shown(args.get(p.name))}"
            for p in spec.parameters
            if args.get(p.name) is not None
        )
        text = f"Just to confirm: {human(spec.name)}" + (f" — {shown}" if shown else "") + ". Shall I go ahead?"
    return f"{text} {YES_NO}"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}" if not value.is_integer() else str(int(value))
    return str(value)


_MONEY_KEYS = ("amount", "balance", "price", "total", "fee", "cost", "owed", "due")


def money(value: float, currency: str) -> str:
    """``184.27`` in ``GBP`` → ``184.27 GBP`` (the tenant's ISO 4217 code after the amount)."""
    return f"{value:,.2f} {currency.upper()}".strip()


def render_result(value: Any, depth: int = 0, *, currency: str = "", key: str = "") -> str:
    """A JSON result as plain words: ``{"amount": 184.27, "status": "credit"}`` → "amount 184.27 GBP,
    status credit" (amounts in the tenant's ``currency``). Lists show at most 5 items; nesting
    beyond 3 levels is cut."""
    if isinstance(value, Mapping):
        if depth > 2:
            return "…"
        parts = [
            f"{human(str(k))} {render_result(v, depth + 1, currency=currency, key=str(k))}".strip()
            for k, v in value.items()
            if v not in (None, "", [], {})
        ]
        if depth == 0 or len(parts) <= 1:
            return ", ".join(parts)
        return "(" + ", ".join(parts) + ")"
    if isinstance(value, list):
        if not value:
            return "none"
        items = [render_result(v, depth + 1, currency=currency) for v in value[:5]]
        return "; ".join(items) + (f" and {len(value) - 5} more" if len(value) > 5 else "")
    if value is None:
        return ""
    if (
        currency
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and any(m in key.lower() for m in _MONEY_KEYS)
    ):
        return money(float(value), currency)
    return _scalar(value)


def result_text(
    spec: ActionSpec,
    args: Mapping[str, SlotValue | None],
    labels: Mapping[str, str],
    result: Any,
    ready: str,
    options: Mapping[str, Any],
    currency: str = "",
) -> str:
    """The reply after a successful call: the tenant's ``reply`` template; else a sentence the
    executor wrote (``ready``); else the result in plain words."""
    values: dict[str, Any] = {**options, **{k: _shown(v) for k, v in args.items()}, "result": result}
    values.update({f"{k}_label": v for k, v in labels.items()})
    if spec.reply:
        text = fill(spec.reply, values)
        if text.strip():
            return text
    if ready:
        return ready
    shown = render_result(result, currency=currency) if result not in (None, "", {}, []) else ""
    if (
        spec.kind == "read"
        and isinstance(result, Mapping)
        and result
        and all(v in (None, "", [], {}) for v in result.values())
    ):
        asked = ", ".join(f"{human(k)} {_shown(v)}" for k, v in args.items() if v is not None)
        return "I checked" + (f" ({asked})" if asked else "") + " and found nothing to report."
    if spec.kind == "write":
        done = f"Done: {human(spec.name)}" + (
            " (" + ", ".join(f"{human(k)}: {_shown(v)}" for k, v in args.items() if v is not None) + ")"
            if any(v is not None for v in args.values())
            else ""
        )
        return done + (f". {_cap(shown)}." if shown else ".")
    return f"Here is what I found: {shown}." if shown else "I checked, and there is nothing to report."


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
