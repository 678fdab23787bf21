"""Record-sourced parameters: the value is one of *this customer's* records (a device's
serial number, an order id), never whatever the text names.

``record_choices`` reads the candidates from the customer's CRM record at ``record_path``
(e.g. ``devices[].serial``; inferred from the parameter's name when the configuration gives none);
builtin executors supply their own (the Store's orders). ``narrow`` picks the ones a message
points at: an id written out (compared without punctuation or case, or by its digits), else
the words that tell this customer's records apart ("my kitchen device", "the order with the kettle").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.actions.values import human, words_of

__all__ = ["Choice", "Narrowed", "infer_record_path", "narrow", "pick_ordinal", "record_choices"]

_ALNUM = re.compile(r"[^a-z0-9]")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "last": -1, "latest": 0}
_LABEL_MAX = 32


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    words: frozenset[str] = frozenset()
    eligible: bool = True
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Narrowed:
    pool: list[Choice]
    named: bool  # the message named one (an id or telling words)
    unknown_id: bool  # the message names an id that is not among this customer's records


def _norm(value: str) -> str:
    return _ALNUM.sub("", value.lower())


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def infer_record_path(name: str, record: Mapping[str, Any]) -> str | None:
    """``device_serial`` over ``{"devices": [{"serial": …}]}`` → ``devices[].serial``: a list of
    objects whose (singular) key is one word of the name and whose items have another."""
    tokens = set(human(name).lower().split())
    best: str | None = None
    for key, value in record.items():
        if not isinstance(value, list) or not value or not all(isinstance(x, dict) for x in value):
            continue
        singular = key.lower()[:-1] if key.lower().endswith("s") else key.lower()
        item_keys = {k for x in value for k in x}
        for item_key in item_keys:
            if item_key.lower() in tokens and (singular in tokens or key.lower() in tokens):
                return f"{key}[].{item_key}"
            if item_key.lower() == name.lower():
                best = best or f"{key}[].{item_key}"
    return best


def _walk(record: Any, path: str) -> list[tuple[Any, Mapping[str, Any]]]:
    """(value, item) pairs at ``a.b[].c``."""
    head, _, tail = path.partition("[].")
    node: Any = record
    for part in [p for p in head.split(".") if p]:
        node = node.get(part) if isinstance(node, Mapping) else None
    if not tail:
        return [(node, {})] if node not in (None, "") else []
    if not isinstance(node, list):
        return []
    out: list[tuple[Any, Mapping[str, Any]]] = []
    for item in node:
        if isinstance(item, Mapping):
            value: Any = item
            for part in tail.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
            if value not in (None, ""):
                out.append((value, item))
    return out


def _short_fields(item: Mapping[str, Any], key: str) -> dict[str, str]:
    """Short, wordy scalar fields of a record item (no identifiers or long notes)."""
    out = {}
    for k, v in item.items():
        if k == key or not isinstance(v, str):
            continue
        if len(v) <= _LABEL_MAX and not any(ch.isdigit() for ch in v) and any(ch.isalpha() for ch in v):
            out[k] = v
    return out


def record_choices(record: Mapping[str, Any], path: str) -> list[Choice]:
    """The customer's records at ``path`` as choices, each labelled with the shortest field that
    tells it apart from the others ("E17L330962 (electricity)")."""
    pairs = _walk(record, path)
    key = path.rsplit(".", 1)[-1]
    fields = [_short_fields(item, key) for _, item in pairs]
    distinct = {k for f in fields for k in f if len({g.get(k) for g in fields}) > 1}
    out = []
    for (value, item), f in zip(pairs, fields, strict=True):
        shown = sorted((f[k] for k in f if k in distinct), key=len)[:1]  # the shortest telling field
        label = f"{value} ({', '.join(shown)})" if shown else str(value)
        words = words_of(" ".join(str(v) for v in item.values() if isinstance(v, str | int | float)))
        out.append(Choice(str(value), label, frozenset(words), True, dict(item)))
    return out


def narrow(choices: list[Choice], text: str, ignore: Iterable[str] = ()) -> Narrowed:
    """The choices ``text`` points at (see the module docstring); ``ignore``: words that say
    nothing about which one (the action's and parameter's names)."""
    if not choices:
        return Narrowed([], False, False)
    by_norm = {_norm(c.value): c for c in choices}
    by_digits = {_digits(c.value): c for c in choices if len(_digits(c.value)) >= 4}
    named: list[Choice] = []
    unknown = False
    for token in _TOKEN.findall(text):
        n, d = _norm(token), _digits(token)
        hit = by_norm.get(n) or (by_digits.get(d) if d == n and len(d) >= 4 else None)
        if hit is not None:
            if hit not in named:
                named.append(hit)
        elif len(d) >= 4 and _looks_like(token, choices):
            unknown = True
    if named:
        return Narrowed(named, True, False)
    if unknown:  # an id of the right shape that is not this customer's: never fall back to another record
        return Narrowed([], True, True)
    ignored = {w for w in ignore}
    common = frozenset.intersection(*(c.words for c in choices)) if len(choices) > 1 else frozenset()
    said = words_of(text) - ignored
    scored = [(len((c.words - common - ignored) & said), c) for c in choices]
    best = max(s for s, _ in scored)
    if best > 0:
        return Narrowed([c for s, c in scored if s == best], True, False)
    return Narrowed([], False, False)


def _shape(value: str) -> str:
    """``AB-10041`` → ``AA99999``: letters and digits by position, separators dropped."""
    return re.sub(r"\d", "9", re.sub(r"[A-Za-z]", "A", _ALNUM.sub("", value.lower())))


def _looks_like(token: str, choices: list[Choice]) -> bool:
    """A token shaped like the customer's record ids (the same letters-and-digits pattern); a
    bare number is not (it may be a postcode or an amount)."""
    digits = _digits(token)
    if len(digits) < 4:
        return False
    shape = _shape(token)
    return any(_shape(c.value) == shape for c in choices)


def pick_ordinal(text: str, choices: list[Choice]) -> Choice | None:
    """ "the first one", "the second", "the last" among the choices we listed."""
    low = text.lower()
    for word, idx in _ORDINALS.items():
        if re.search(rf"\b{word}\b", low) and choices:
            return choices[idx] if -len(choices) <= idx < len(choices) else None
    return None
