"""What can go wrong when an action runs, grouped by who must act.

ActionError
├── ActionFailed    the backend is down, slow, answered an error or malformed data, or the
│                   action has no usable executor: the customer gets one clear sentence and
│                   a person takes over (handoff reason ``action_failed``, details in the brief)
└── ActionRefused   the company's rules say no (not eligible): the customer is told why;
                    nothing failed, nobody needs to take over
"""

from __future__ import annotations

from typing import Literal

from core.errors import SwitchboardError

__all__ = ["ActionError", "ActionFailed", "ActionRefused", "FailureKind"]

FailureKind = Literal["unavailable", "timeout", "error", "malformed", "unconfigured"]


class ActionError(SwitchboardError):
    """Base of the action errors."""


class ActionFailed(ActionError):
    """The call did not produce a usable result. ``kind`` says which way; ``detail`` is for
    the agent (status code, the backend's message), never shown to the customer."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: FailureKind = kind
        self.detail = detail


class ActionRefused(ActionError):
    """The company's rules refuse the action for this customer or record; ``text`` says why."""

    def __init__(self, text: str, target: str = "") -> None:
        super().__init__(text)
        self.text = text
        self.target = target
