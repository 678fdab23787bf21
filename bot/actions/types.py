"""What an action keeps between turns and what one turn of it returns: ``PendingAction``
(the state in the conversation's memory, with the records offered as ``PendingChoice``),
``ActionContext`` (who and when) and ``ActionOutcome`` (text + ``meta()`` for the bot message).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, model_validator

from bot.actions.errors import ActionFailed
from bot.actions.values import SlotValue

__all__ = ["ActionContext", "ActionOutcome", "PendingAction", "PendingChoice", "Status"]

Status = Literal["asked", "proposed", "executed", "failed", "refused", "declined", "cancelled"]


class PendingChoice(BaseModel):
    value: str
    label: str
    words: list[str] = Field(default_factory=list)
    eligible: bool = True


class PendingAction(BaseModel):
    """An action waiting for the customer: a parameter (``slot``), a pick among their records
    (``choice``) or the yes to a write (``confirmation``, with its idempotency ``key``)."""

    action: str
    args: dict[str, SlotValue | None] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    awaiting: Literal["slot", "choice", "confirmation"] = "slot"
    slot: str | None = None
    choices: list[PendingChoice] = Field(default_factory=list)
    reasks: int = 0
    key: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        """Memory written before actions were configurable: ``{kind, order_id, awaiting}``."""
        if isinstance(data, dict) and "kind" in data and "action" not in data:
            args = {"order_id": data.get("order_id")}
            if data.get("new_address"):
                args["new_address"] = data["new_address"]
            awaiting = {"order": "choice", "address": "slot"}.get(str(data.get("awaiting")), "confirmation")
            return {
                "action": data["kind"],
                "args": args,
                "awaiting": awaiting,
                "slot": "new_address" if awaiting == "slot" else None,
                "key": f"legacy:{data['kind']}:{data.get('order_id')}" if awaiting == "confirmation" else None,
            }
        return data


@dataclass(frozen=True)
class ActionContext:
    """Who and when: the session's customer (None: anonymous), the conversation, the time and
    the tenant's timezone (dates such as "today" are the tenant's)."""

    tenant_id: str
    customer_id: str | None
    conversation_id: str
    now: datetime
    timezone: str = "UTC"
    currency: str = ""  # ISO 4217: how amounts in results are written

    @property
    def today(self) -> date:
        try:
            return self.now.astimezone(ZoneInfo(self.timezone)).date()
        except (ZoneInfoNotFoundError, ValueError):
            return self.now.date()


@dataclass
class ActionOutcome:
    """What one turn of an action produced. ``meta()`` is what the bot message carries for
    the agent console and scorers: name, status, args, awaiting, executed, writes."""

    action: str
    status: Status
    text: str
    args: dict[str, SlotValue | None] = field(default_factory=dict)
    writes: bool = False
    pending: PendingAction | None = None
    missing: list[str] = field(default_factory=list)
    result: Any = None
    failure: ActionFailed | None = None
    target: str = ""
    replayed: bool = False

    @property
    def awaiting(self) -> str | None:
        if self.pending is None:
            return None
        if self.pending.awaiting == "confirmation":
            return "confirmation"
        return self.pending.slot

    def meta(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.action,
            "status": self.status,
            "args": dict(self.args),
            "awaiting": self.awaiting,
            "executed": self.status == "executed",
            "writes": self.writes,
        }
        if self.missing:
            out["missing"] = list(self.missing)
        if self.status == "executed" and self.result is not None:
            out["result"] = self.result
        if self.failure is not None:
            out["failure"] = self.failure.kind
        return out
