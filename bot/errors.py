"""Bot signals. ``HandoffRequired`` is a typed human-in-the-loop signal, never a string flag."""

from __future__ import annotations

from core.errors import SwitchboardError
from core.types import HandoffBrief


class HandoffRequired(SwitchboardError):
    """The bot hands the conversation to a human; ``brief`` tells the human what to do."""

    def __init__(self, brief: HandoffBrief, customer_message: str) -> None:
        super().__init__(f"handoff: {brief.reason.value}")
        self.brief = brief
        self.customer_message = customer_message
