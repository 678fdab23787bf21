"""The conversation's topic, the handoff queue and its priority — all from the tenant's configuration.

A tenant lists its queues (``queues: {name: {description, topics, intents}}``) and its sensitive
topics (with their own ``queue`` and ``priority``); nothing about any company lives here.
``Router.queue`` picks, in order:

1. the queue the matched sensitive topic names (``sensitive_topics[].queue``);
2. the queue that lists the reason's category, the topic or the intent among its ``topics`` /
   ``intents`` (``TenantConfig.queue_for_topic``);
3. the queue with the name, description, topic or intent name closest in meaning to what the
   handoff is about (the category's description, or the customer's recent words), when the
   cosine similarity reaches ``queue_similarity`` (MiniLM; 0.35: a topic name and a message
   about it score 0.4-0.6, unrelated ones below 0.3 on the demo's queues);
4. the tenant's ``handoff.default_queue``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bot.intents import IntentPrediction
from bot.tenant import TenantPolicy
from core.models.embed import Embedder
from core.types import HandoffReason

SMALLTALK = frozenset({"greet", "goodbye", "thanks"})
META = SMALLTALK | {"affirm", "deny", "speak_to_human"}

# Reasons that need a person soon, whatever the topic.
_HIGH = {
    HandoffReason.frustration,
    HandoffReason.repetition,
    HandoffReason.repeated_failure,
    HandoffReason.sensitive_topic,
    HandoffReason.sensitive_fraud,
    HandoffReason.sensitive_legal,
    HandoffReason.sensitive_bereavement,
}
_PRIORITY_RANK = {"normal": 0, "high": 1, "urgent": 2}


@dataclass(frozen=True)
class Router:
    topic_min_prob: float = 0.2
    queue_similarity: float = 0.35
    _vectors: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def topic(self, prediction: IntentPrediction | None, text: str, current: str | None) -> str | None:
        """The conversation's topic after this message (an intent name; it helps pick the queue).

        A confident topical intent sets it; a message that is mostly "a human please", a
        complaint or out of scope keeps the current topic, else the runner-up intent fills it in.
        (``text`` is kept for callers; the words themselves are matched against the tenant's
        queues at handoff time, see ``queue``.)"""
        if prediction is not None and prediction.intent is not None and prediction.intent not in META:
            if prediction.intent != "complaint" or current is None:
                return prediction.intent
        if current is not None and current != "complaint":
            return current
        if prediction is not None:
            for name, prob in prediction.ranking:
                if name not in META and name != "complaint" and prob >= self.topic_min_prob:
                    return name
        return current

    def queue(
        self,
        policy: TenantPolicy,
        *,
        topic: str | None,
        keys: tuple[str, ...] = (),
        configured: str | None = None,
        about: str = "",
        embedder: Embedder | None = None,
    ) -> str:
        """The tenant's queue for a handoff (see the module docstring for the order).

        ``keys``: category or topic names to look up first (``"fraud"``); ``topic``: the
        conversation's intent; ``configured``: a queue named by the sensitive topic; ``about``:
        text to match queue descriptions by meaning (needs ``embedder``)."""
        if configured and (not policy.queues or configured in policy.queues):
            return configured
        for key in (*keys, topic):
            if key and (name := policy.queue_for(key)) is not None:
                return name
        if about.strip() and embedder is not None and policy.queues:
            best = self._closest_queue(policy, about, embedder)
            if best is not None:
                return best
        return policy.default_queue

    def _closest_queue(self, policy: TenantPolicy, about: str, embedder: Embedder) -> str | None:
        """The queue with the piece (name, description, a topic or intent name) closest to ``about``."""
        owners: list[str] = []
        pieces: list[str] = []
        for name in policy.queues:
            for piece in _queue_pieces(name, policy):
                owners.append(name)
                pieces.append(piece)
        if not pieces:
            return None
        key = tuple(pieces)
        if key not in self._vectors:
            if len(self._vectors) > 64:
                self._vectors.clear()
            self._vectors[key] = embedder.embed(pieces)
        sims = self._vectors[key] @ embedder.embed([about])[0]
        i = int(np.argmax(sims))
        return owners[i] if float(sims[i]) >= self.queue_similarity else None

    def priority(self, reason: HandoffReason, configured: str | None = None) -> str:
        """``high`` for reasons that need a person soon; a sensitive topic's configured priority
        when it is higher."""
        base = "high" if reason in _HIGH else "normal"
        if configured and _PRIORITY_RANK.get(configured, 0) > _PRIORITY_RANK[base]:
            return configured
        return base


def _queue_pieces(name: str, policy: TenantPolicy) -> list[str]:
    spec = policy.queues[name]
    pieces = [name.replace("_", " "), spec.description, *(t.replace("_", " ") for t in spec.topics)]
    pieces += [i.replace("_", " ") for i in spec.intents]
    return [p for p in pieces if p.strip()]


__all__ = ["META", "SMALLTALK", "Router"]
