"""The executor seam: one small class per backend (``http``, ``mcp``, ``builtin``), each with
one method that runs a call and returns its result or raises ``ActionFailed``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.actions.errors import ActionFailed
from bot.actions.values import SlotValue
from core.tenancy.actions import ActionSpec

__all__ = ["ActionCall", "ActionResult", "RemoteExecutor", "expand", "pick", "secret_env"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WHOLE = re.compile(r"^\{([a-z_][a-z0-9_]*)\}$")


@dataclass(frozen=True)
class ActionCall:
    """One run of an action: who (the session's customer, never a name in the text), what,
    with which values, and the idempotency key of a write (None for reads)."""

    tenant_id: str
    spec: ActionSpec
    args: dict[str, SlotValue | None]
    customer_id: str | None
    conversation_id: str
    now: datetime
    idempotency_key: str | None = None

    def values(self) -> dict[str, Any]:
        """What templates may name: each parameter, ``params``, ``customer_id``, ``idempotency_key``."""
        return {
            **self.args,
            "params": dict(self.args),
            "customer_id": self.customer_id,
            "idempotency_key": self.idempotency_key,
        }


@dataclass
class ActionResult:
    data: Any = None  # the backend's answer (JSON), after ``result_path``
    text: str = ""  # a ready reply sentence (builtins)
    target: str = ""  # what it acted on (a record id), for the audit
    labels: dict[str, str] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)  # extra audit detail (e.g. the status before a change)


class RemoteExecutor(Protocol):
    """``http`` and ``mcp``: ``call`` runs outside any database transaction."""

    def call(self, call: ActionCall) -> ActionResult: ...


def secret_env(value: str, env: Mapping[str, str] | None = None) -> str:
    """``"Bearer ${ACME_TOKEN}"`` with the variable's value. Raises ``ActionFailed`` (unconfigured)
    naming the variable when it is unset — the secret itself is never printed."""
    source = os.environ if env is None else env

    def sub(m: re.Match[str]) -> str:
        if m[1] not in source:
            raise ActionFailed("unconfigured", f"environment variable {m[1]} is not set")
        return source[m[1]]

    return _ENV.sub(sub, value)


def expand(template: Any, values: Mapping[str, Any]) -> Any:
    """A JSON template filled from ``values``: a string that is exactly ``"{name}"`` becomes
    the typed value, other strings are formatted (unknown names stay empty), dicts and lists
    are expanded item by item."""
    if isinstance(template, str):
        m = _WHOLE.match(template)
        if m:
            return values.get(m[1])
        return re.sub(
            r"\{([a-z_][a-z0-9_]*)\}", lambda x: "" if values.get(x[1]) is None else str(values[x[1]]), template
        )
    if isinstance(template, dict):
        return {k: expand(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [expand(v, values) for v in template]
    return template


def pick(data: Any, path: str | None) -> Any:
    """``data`` at a dotted ``path`` (``data.items.0``). Raises ``ActionFailed`` (malformed) when
    the answer has no such field."""
    if not path:
        return data
    value = data
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise ActionFailed("malformed", f"the answer has no field {path!r}")
    return value
