"""What the bot says when it is not quoting the knowledge base (fixed, reviewed texts)."""

from __future__ import annotations

from datetime import datetime

from core.types import HandoffReason

ABSTAIN = "I couldn't find an answer to that in our help center. Would you like me to connect you with a person?"
GREET = "Hi! I'm the {bot}. How can I help you today?"
THANKS = "You're welcome! Is there anything else I can help with?"
GOODBYE = "Thanks for chatting with us. Goodbye!"
DENY = "OK. Is there anything else I can help with?"
SIGN_IN = "To look at your orders I need you to be signed in; here is what our help center says: "
WELCOME_BACK = "I'm back to help. "

HANDOFF: dict[HandoffReason, str] = {
    HandoffReason.explicit_request: "Of course. I'm connecting you with a member of our team now.",
    HandoffReason.no_answer: "I'm sorry I couldn't find this. I'm connecting you with a member of our team.",
    HandoffReason.frustration: "I'm sorry this has been frustrating. I'm bringing in a member of our team right away.",
    HandoffReason.repetition: "I'm sorry I haven't been able to answer that. A member of our team will take over.",
    HandoffReason.sensitive_topic: "This needs a person. I'm connecting you with a member of our team now.",
    HandoffReason.unsupported_language: (
        "I'm sorry, I can only help in English. I'm connecting you with a colleague who can help in your language."
    ),
    HandoffReason.action_failed: "Something went wrong on our side. I'm connecting you with a member of our team.",
}
SEE_ALL = " They'll see everything we've discussed, so you won't need to repeat yourself."


def after_hours(ticket_id: str, opens: datetime | None) -> str:
    when = f" We're back {opens.strftime('%A at %H:%M')} ({opens.tzname()})." if opens else ""
    return (
        f"Our team is offline right now.{when} I've opened ticket {ticket_id} with everything you've told me. "
        "Would you like a call back or an e-mail? Just reply with your preference and a colleague will get back to you."
    )
