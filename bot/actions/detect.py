"""Which of the tenant's actions, if any, a customer message asks for.

Either the intent classifier names the action (its examples are trained as an intent,
``bot.catalog``; confidence at or above the classifier's out-of-scope threshold), or — when
the classifier names no intent at all, as happens for a tenant with few examples per action
— the message carries enough **evidence**: words it shares with what the tenant wrote about
the action, weighted 2 for the words of its name (without the leading verb) plus 1 for its
description, examples and parameter names (prefix match, so "pay" meets "payment"); a choice
of one of its enum parameters named in full counts ``MIN_EVIDENCE`` on its own; at least
``MIN_EVIDENCE`` is needed. Either way the message must have the **form of a request**
(``bot.actions.request``): it asks us to act, not how something works. A confident
non-action intent (e.g. "shipping_info") always wins over evidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from bot.actions.request import is_request
from bot.actions.values import human, words_of
from bot.intents import IntentPrediction
from core.tenancy.actions import ActionSpec

__all__ = ["MIN_EVIDENCE", "evidence", "requested_action"]

MIN_EVIDENCE = 3  # a word of the action's name and one more mention (description, parameters, examples)
_GENERIC = frozenset(
    "customer customers account signed own their one record records current known request action up about".split()
)


def _weights(spec: ActionSpec) -> dict[str, int]:
    out: dict[str, int] = {}
    extra = " ".join([spec.description, *spec.examples, *(human(p.name) for p in spec.parameters)])
    for w in words_of(extra):
        out[w] = 1
    for w in words_of(" ".join(human(spec.name).split()[1:])):
        out[w] = out.get(w, 0) + 2  # a word of the name that the description repeats counts 3
    return {w: n for w, n in out.items() if w not in _GENERIC and len(w) >= 3 and not w.isdigit()}


@lru_cache(maxsize=64)
def _said(text: str) -> frozenset[str]:
    """The message's words that can be evidence (three characters or more, not a bare number).
    Split once per message, not once per action scored against it: splitting non-ASCII text
    looks up every character after NFKC (``words_of``; 4,000 characters of U+FDFA, 18 letters
    each after NFKC, take ~13 ms), and ``requested_action`` scores every action of the tenant."""
    return frozenset(w for w in words_of(text) if len(w) >= 3 and not w.isdigit())


def evidence(spec: ActionSpec, text: str) -> int:
    """How strongly the message's words match the action's own words (0: not at all): each
    word of the message counts once, with the weight of the action's word it equals (or, for
    a word of the action's name, begins: "pay" → "payment")."""
    weights = _weights(spec)
    score = 0
    for w in _said(text):
        score += max((n for d, n in weights.items() if d == w or (n >= 2 and d.startswith(w))), default=0)
    low = " ".join(text.lower().split())
    for p in spec.parameters:  # a choice of one of its enum parameters, named in full, is conclusive
        if any(re.search(rf"(?<!\w){re.escape(c.lower())}(?!\w)", low) for c in p.choices if len(c) >= 3):
            score += MIN_EVIDENCE
    return score


def requested_action(
    prediction: IntentPrediction | None, actions: Sequence[ActionSpec], text: str
) -> ActionSpec | None:
    """The action ``text`` asks for (see the module docstring), or None."""
    if prediction is None or not actions or not text.strip():
        return None
    by_name = {a.name: a for a in actions}
    spec: ActionSpec | None = None
    if prediction.intent is not None:
        spec = by_name.get(prediction.intent)  # None: a confident non-action intent
    else:
        probs = dict(prediction.ranking)
        scored = [(evidence(a, text), probs.get(a.name, 0.0), a) for a in actions]
        best = max(scored, key=lambda x: (x[0], x[1]))
        spec = best[2] if best[0] >= MIN_EVIDENCE else None
    if spec is None:
        return None
    verbs = {a.name.split("_", 1)[0] for a in actions}
    return spec if is_request(text, read=spec.kind == "read", verbs=verbs) else None
