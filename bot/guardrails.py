"""The bot's input screen: is this customer message a prompt-injection or jailbreak
attempt? A pure function over the (already redacted) text.

``screen_input`` scores the message with the shared pattern families of
``knowledge.scan`` (ignore-previous-instructions, system-prompt extraction, DAN /
developer mode, role-play markers, chat-template tokens, encoded payloads, long
prompt-like messages). A flagged message gets ``REFUSAL_TEXT`` as the reply: no model
call, no retrieval, no handoff, and the caller writes an audit entry.

Measured on ``bench/trust_screen.py``: see docs/trust.md for the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.scan import Signal, score, signals

THRESHOLD = 1.0
REFUSAL_TEXT = "I can only help with questions about {scope}. Could you tell me what you need help with?"
DEFAULT_SCOPE = "our products and services and your account"


def refusal_text(scope: str = "") -> str:
    """The refusal for a flagged message, in the tenant's own words (``scope`` from its
    configuration, e.g. "bills, meters and payments")."""
    return REFUSAL_TEXT.format(scope=scope.strip().rstrip(".") or DEFAULT_SCOPE)


@dataclass(frozen=True)
class ScreenResult:
    """What the screen decided about one customer message."""

    flagged: bool
    score: float
    reasons: tuple[str, ...] = ()
    signals: tuple[Signal, ...] = field(default=(), repr=False)

    @property
    def reply(self) -> str | None:
        """The safe reply to send instead of answering, or None to carry on."""
        return refusal_text() if self.flagged else None

    def audit_detail(self) -> dict[str, object]:
        """What goes into the audit log (never the message text itself)."""
        return {"score": self.score, "reasons": list(self.reasons)}


def screen_input(text: str, threshold: float = THRESHOLD) -> ScreenResult:
    """Screen one customer message for a direct prompt-injection / jailbreak attempt."""
    found = signals(text)
    total = score(found)
    return ScreenResult(
        flagged=total >= threshold,
        score=total,
        reasons=tuple(sorted({s.name for s in found})),
        signals=tuple(found),
    )


__all__ = ["REFUSAL_TEXT", "THRESHOLD", "ScreenResult", "refusal_text", "screen_input"]
