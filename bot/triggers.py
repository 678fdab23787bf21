"""Handoff triggers that read the customer's words: explicit requests for a person,
sensitive topics, frustration, and the customer repeating themselves.

All are deterministic (patterns + a small lexicon + embedding similarity), so they work
with any chat model and can be tested with the fakes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bot.grounding import content_words
from core.models.embed import Embedder

EXPLICIT = re.compile(
    r"\b(human|real person|a person|actual person|someone real|an? (?:live |real )?agent|live agent|"
    r"representative|operator|supervisor|manager|"
    r"(?:speak|talk|chat) (?:to|with) (?:someone|somebody|a person|customer service|support|your team|staff)|"
    r"someone (?:from|on) your team|connect me (?:to|with)|put me through|call me back|callback)\b",
    re.IGNORECASE,
)

SENSITIVE: dict[str, re.Pattern[str]] = {
    "legal_threat": re.compile(
        r"\b(lawyer|attorney|solicitor|sue|suing|lawsuit|legal action|take you to court|court|"
        r"consumer protection|ombudsman|small claims)\b",
        re.IGNORECASE,
    ),
    "fraud": re.compile(
        r"\b(fraud\w*|scam(?:med)?|stolen card|card (?:was|got) stolen|identity theft|"
        r"(?:didn't|did not|never) (?:make|authori[sz]e|place|order) (?:this|that|it|the)|"
        r"someone (?:used|is using) my (?:card|account)|unauthori[sz]ed (?:charge|payment|transaction))\b",
        re.IGNORECASE,
    ),
    "chargeback": re.compile(r"\b(charge ?back|dispute (?:it|this|the charge) with my bank)\b", re.IGNORECASE),
    "account_takeover": re.compile(
        r"\b(hacked|someone (?:got|broke) into my account|someone (?:logged|signed) in|"
        r"account (?:was|has been) (?:taken over|compromised)|(?:didn't|did not) (?:change|do) (?:that|it|this))\b",
        re.IGNORECASE,
    ),
    "bereavement": re.compile(
        r"\b(passed away|died|deceased|death of|funeral|bereave\w*|my late (?:husband|wife|father|mother|partner))\b",
        re.IGNORECASE,
    ),
    "cancellation": re.compile(
        r"\b(close|delete|cancel|terminate) (?:my|the|our) (?:account|membership|subscription|plus membership|"
        r"customer account|data)\b",
        re.IGNORECASE,
    ),
    "safety": re.compile(
        r"\b(smells? of burning|burning smell|caught fire|on fire|smok(?:e|ing) (?:came|coming)|"
        r"swollen battery|battery (?:swelled|swollen|exploded)|electric shock|injur(?:ed|y))\b",
        re.IGNORECASE,
    ),
}

_INSULT = re.compile(
    r"\b(stupid|idiot\w*|useless|incompetent|pathetic|joke|rubbish|garbage|crap|shit\w*|damn|wtf|"
    r"worst|hate (?:you|this)|scam)\b",
    re.IGNORECASE,
)
_STRONG = re.compile(
    r"\b(ridiculous|unacceptable|outrageous|furious|angry|fed up|sick of|sick and tired|disgusting|"
    r"terrible|horrible|awful|are you kidding|kidding me|never again|waste of (?:time|money)|enough is enough)\b",
    re.IGNORECASE,
)
_MILD = re.compile(
    r"\b(annoying|annoyed|frustrat\w*|disappointed|upset|unhappy|still (?:not|no|hasn't|haven't|doesn't)|"
    r"again|ugh|come on|seriously)\b",
    re.IGNORECASE,
)
_POSITIVE = re.compile(r"\b(thanks?|thank you|great|perfect|awesome|helpful|appreciate|love)\b", re.IGNORECASE)


def sensitive_topic(text: str) -> str | None:
    for name, pattern in SENSITIVE.items():
        if pattern.search(text):
            return name
    return None


def explicit_request(text: str) -> bool:
    return bool(EXPLICIT.search(text))


def negativity(text: str) -> float:
    """0 (calm) .. ~2 (abusive) for one message."""
    score = 0.0
    score += 1.0 * min(2, len(_INSULT.findall(text)))
    score += 0.6 * min(2, len(_STRONG.findall(text)))
    score += 0.3 * min(2, len(_MILD.findall(text)))
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        score += 0.5  # shouting
    if re.search(r"[!?]{2,}", text):
        score += 0.2
    return score


def sentiment(texts: list[str]) -> float:
    """-1 (very negative) .. 1 (positive) over the customer's recent messages."""
    if not texts:
        return 0.0
    neg = sum(negativity(t) for t in texts[-3:])
    pos = sum(0.4 for t in texts[-3:] if _POSITIVE.search(t))
    return float(max(-1.0, min(1.0, (pos - neg) / 1.5)))


@dataclass(frozen=True)
class TriggerConfig:
    explicit_request: bool = True
    sensitive_topics: bool = True
    frustration: bool = True
    repetition: bool = True
    no_answer: bool = True
    after_hours: bool = True
    frustration_threshold: float = 1.0  # summed negativity over the last 3 customer messages
    repeat_similarity: float = 0.6
    repeat_limit: int = 2  # consecutive messages that repeat an earlier one
    no_answer_limit: int = 2

    @classmethod
    def from_config(cls, config: dict[str, object]) -> TriggerConfig:
        raw = config.get("handoff_triggers")
        if not isinstance(raw, dict):
            return cls()
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in fields})


def frustrated(texts: list[str], threshold: float) -> bool:
    return sum(negativity(t) for t in texts[-3:]) >= threshold


class RepetitionDetector:
    def __init__(self, embedder: Embedder, similarity: float = 0.6) -> None:
        self.embedder = embedder
        self.similarity = similarity

    def is_repeat(self, texts: list[str], window: int = 4) -> bool:
        """Does the last message say what one of the earlier ones (within ``window``) said?"""
        if len(texts) < 2:
            return False
        last, earlier = texts[-1], texts[-1 - window : -1]
        lw = content_words(last)
        vecs = self.embedder.embed([last, *earlier])
        sims = np.atleast_1d(vecs[1:] @ vecs[0])
        for text, sim in zip(earlier, sims, strict=True):
            ew = content_words(text)
            jaccard = len(lw & ew) / len(lw | ew) if lw | ew else 0.0
            if float(sim) >= self.similarity or (len(lw) >= 2 and jaccard >= 0.6):
                return True
        return False
