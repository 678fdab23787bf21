"""Build the handoff brief: what a human needs to act without asking the customer again."""

from __future__ import annotations

from core.types import Author, Citation, CustomerFacts, HandoffBrief, HandoffReason, Turn

_HIGH = {
    HandoffReason.sensitive_topic,
    HandoffReason.sensitive_fraud,
    HandoffReason.sensitive_legal,
    HandoffReason.sensitive_bereavement,
    HandoffReason.frustration,
    HandoffReason.repetition,
    HandoffReason.repeated_failure,
}


def summarize_turns(turns: list[Turn], max_chars: int = 400, notes: list[str] | None = None) -> str:
    asks = [t.text.strip() for t in turns if t.author == Author.customer and t.text.strip()]
    summary = (
        "Customer wrote: " + " / ".join(f'"{a[:160]}"' for a in asks[-4:])
        if asks
        else "The customer has not written anything yet."
    )
    if notes:
        summary += " | Before handing back, the agent wrote: " + " / ".join(f'"{n[:120]}"' for n in notes[-2:])
    return summary[:max_chars]


def build_brief(
    turns: list[Turn],
    reason: HandoffReason,
    *,
    detail: str = "",
    intent: str | None = None,
    tried: list[str] | None = None,
    cited: list[Citation] | None = None,
    sentiment: float = 0.0,
    language: str = "en",
    customer: CustomerFacts | None = None,
    queue: str | None = None,
    priority: str | None = None,
    notes: list[str] | None = None,
) -> HandoffBrief:
    """The brief for a handoff. ``queue`` and ``priority`` come from the tenant's routing
    (``bot.routing.Router``); without them: "general", and "high" for urgent reasons."""
    return HandoffBrief(
        summary=summarize_turns(turns, notes=notes, max_chars=600 if notes else 400),
        intent=intent,
        reason=reason,
        reason_detail=detail,
        tried=tried or [],
        cited=cited or [],
        sentiment=sentiment,
        language=language,
        customer=customer,
        queue=queue or "general",
        priority=priority or ("high" if reason in _HIGH else "normal"),
    )
