"""Intent → handoff queue and priority (queues follow the tenant's escalation matrix). Which
self-service action a message asks for is the tenant's configuration (``bot.actions``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.intents import IntentPrediction
from core.types import CustomerFacts, HandoffReason

SMALLTALK = frozenset({"greet", "goodbye", "thanks"})
META = SMALLTALK | {"affirm", "deny", "speak_to_human"}

DEFAULT_QUEUES: dict[str, str] = {
    "order_status": "orders",
    "cancel_order": "orders",
    "change_address": "orders",
    "shipping_info": "orders",
    "start_return": "returns",
    "refund_status": "returns",
    "billing_dispute": "billing",
    "payment_methods": "billing",
    "invoice_request": "billing",
    "account_help": "technical",
    "product_troubleshooting": "technical",
    "warranty": "technical",
    "complaint": "general",
    # keyword topics (when the classifier has no topical intent)
    "damaged_item": "returns",
    "delivery_problem": "orders",
    "payment_problem": "billing",
    "technical_problem": "technical",
}

KEYWORD_TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("damaged_item", re.compile(r"\b(stain\w*|damaged|broken|torn|ripped|wrong (?:item|size)|defect\w*)\b", re.I)),
    ("payment_problem", re.compile(r"\b(payment|charged?|refund|invoice|klarna|paypal|card)\b", re.I)),
    ("delivery_problem", re.compile(r"\b(order|parcel|package|deliver\w*|arriv\w*|shipping|tracking)\b", re.I)),
    ("technical_problem", re.compile(r"\b(app|sync\w*|bluetooth|password|sign in|log ?in|battery|heat\w*)\b", re.I)),
)

# Reasons that route by their nature, not by the topic.
_REASON_QUEUE = {
    HandoffReason.sensitive_topic: "trust_safety",
    HandoffReason.no_answer: "general",
    HandoffReason.unsupported_language: "general",
}
_HIGH = {HandoffReason.sensitive_topic, HandoffReason.frustration, HandoffReason.repetition}


@dataclass(frozen=True)
class Router:
    queues: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_QUEUES))
    default_queue: str = "general"
    topic_min_prob: float = 0.2

    def topic(self, prediction: IntentPrediction | None, text: str, current: str | None) -> str | None:
        """The conversation's topic after this message (it picks the handoff queue).

        A confident topical intent sets it; a message that is mostly "a human please", a
        complaint or out of scope keeps the current topic, else the runner-up intent or a
        keyword topic fills it in."""
        if prediction is not None and prediction.intent is not None and prediction.intent not in META:
            if prediction.intent != "complaint" or current is None:
                return prediction.intent
        if current is not None and current != "complaint":
            return current
        if prediction is not None:
            for name, prob in prediction.ranking:
                if name not in META and name != "complaint" and prob >= self.topic_min_prob:
                    return name
        for name, pattern in KEYWORD_TOPICS:
            if pattern.search(text):
                return name
        return current

    def queue(self, reason: HandoffReason, topic: str | None, *, original: HandoffReason | None = None) -> str:
        basis = original or reason
        if basis in _REASON_QUEUE:
            return _REASON_QUEUE[basis]
        return self.queues.get(topic or "", self.default_queue)

    def priority(self, reason: HandoffReason, customer: CustomerFacts | None) -> str:
        if reason in _HIGH or (customer is not None and customer.tier.lower() == "plus"):
            return "high"
        return "normal"
