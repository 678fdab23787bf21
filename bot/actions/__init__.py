"""Self-service actions any company declares (``actions:`` in its configuration, see
``core.tenancy.actions``): slot filling over turns, confirmation before a write, idempotent
execution through an executor (``http``, ``mcp``, ``builtin``), audit of every step.

- ``runner``: ``ActionRunner`` (start / resume / execute);
- ``types``: ``PendingAction`` (the state kept in the conversation's memory), ``ActionContext``,
  ``ActionOutcome`` (text + ``meta()`` for the bot message);
- ``request``: is the message a request to act or a question about something;
- ``values`` / ``choices``: reading parameter values from words and from the customer's records;
- ``execute``: running a filled action and auditing it; ``ledger``: an idempotency key's claim and
  outcome, so a write runs once however many yeses arrive for it;
- ``executors``: the backends; ``errors``: ``ActionFailed`` / ``ActionRefused``.
"""

from __future__ import annotations

from bot.actions.errors import ActionError, ActionFailed, ActionRefused
from bot.actions.executors.base import ActionCall, ActionResult
from bot.actions.request import is_request
from bot.actions.runner import ActionRunner
from bot.actions.types import ActionContext, ActionOutcome, PendingAction, PendingChoice

__all__ = [
    "ActionCall",
    "ActionContext",
    "ActionError",
    "ActionFailed",
    "ActionOutcome",
    "ActionRefused",
    "ActionResult",
    "ActionRunner",
    "PendingAction",
    "PendingChoice",
    "is_request",
]
