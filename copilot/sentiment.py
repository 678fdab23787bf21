"""Lexicon sentiment per customer message and its trend over the conversation.

Deterministic and instant (no model): a score in -1..1 per message from a small lexicon
with negation and intensifiers, and the trend as the slope over the last messages.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from core.types import Author, Turn

_POSITIVE = {
    "thanks": 1.0,
    "thank": 1.0,
    "great": 1.5,
    "perfect": 1.5,
    "excellent": 1.5,
    "awesome": 1.5,
    "good": 1.0,
    "happy": 1.2,
    "love": 1.5,
    "appreciate": 1.2,
    "helpful": 1.2,
    "wonderful": 1.5,
    "nice": 1.0,
    "glad": 1.0,
    "fine": 0.5,
    "works": 0.8,
    "resolved": 1.0,
    "brilliant": 1.5,
    "merci": 1.0,
    "danke": 1.0,
    "cheers": 0.8,
    "fantastic": 1.5,
    "pleased": 1.2,
    "sorted": 0.8,
    "easy": 0.6,
}
_NEGATIVE = {
    "angry": -2.0,
    "furious": -2.5,
    "terrible": -2.0,
    "awful": -2.0,
    "horrible": -2.0,
    "worst": -2.5,
    "ridiculous": -2.0,
    "unacceptable": -2.5,
    "disappointed": -1.5,
    "disappointing": -1.5,
    "frustrated": -1.8,
    "frustrating": -1.8,
    "annoyed": -1.5,
    "annoying": -1.5,
    "upset": -1.5,
    "useless": -2.0,
    "bad": -1.0,
    "broken": -1.0,
    "damaged": -1.0,
    "cracked": -0.8,
    "wrong": -0.8,
    "late": -0.6,
    "still": -0.4,
    "never": -0.8,
    "problem": -0.6,
    "issue": -0.4,
    "cold": -0.3,
    "lost": -0.8,
    "missing": -0.8,
    "waiting": -0.6,
    "waste": -1.5,
    "scam": -2.5,
    "lawyer": -2.0,
    "complaint": -1.5,
    "refund": -0.2,
    "cancel": -0.4,
    "again": -0.5,
    "nobody": -1.0,
    "hate": -2.0,
    "sucks": -2.0,
    "joke": -1.2,
    "disgusting": -2.0,
    "rude": -1.8,
    "fed": -1.0,
    "sick": -1.0,
    "wtf": -2.0,
    "seriously": -0.8,
}
_NEGATIONS = {"not", "no", "never", "n't", "dont", "don't", "didn't", "isn't", "wasn't", "cannot", "can't"}
_INTENSIFIERS = {"very": 1.5, "really": 1.4, "so": 1.3, "extremely": 1.8, "totally": 1.5, "absolutely": 1.6}
_TOKEN = re.compile(r"[a-z']+|[!?]")


class SentimentPoint(BaseModel):
    seq: int
    score: float  # -1 (very negative) .. 1 (very positive)


class SentimentTrend(BaseModel):
    points: list[SentimentPoint] = Field(default_factory=list)
    current: float = 0.0
    trend: str = "steady"  # improving | worsening | steady
    slope: float = 0.0


def score_text(text: str) -> float:
    """Sentiment of one message in -1..1."""
    tokens = _TOKEN.findall(text.lower())
    total = 0.0
    hits = 0
    for i, tok in enumerate(tokens):
        base = _POSITIVE.get(tok) or _NEGATIVE.get(tok)
        if base is None:
            continue
        window = tokens[max(0, i - 3) : i]
        if any(w in _NEGATIONS or w.endswith("n't") for w in window):
            base = -base * 0.7
        for w in window:
            base *= _INTENSIFIERS.get(w, 1.0)
        total += base
        hits += 1
    if hits == 0:
        return 0.0
    exclaim = min(text.count("!"), 3)
    shouting = sum(1 for w in re.findall(r"\b[A-Z]{3,}\b", text)) > 0
    if total < 0:
        total *= 1 + 0.15 * exclaim + (0.3 if shouting else 0.0)
    score = total / (abs(total) + 2.0)  # squash to -1..1
    return round(max(-1.0, min(1.0, score)), 3)


def trend(turns: list[Turn], seqs: list[int] | None = None, window: int = 4) -> SentimentTrend:
    """Scores of the customer's messages, the latest score and the direction of the last few."""
    seqs = seqs or list(range(1, len(turns) + 1))
    points = [
        SentimentPoint(seq=seq, score=score_text(t.text))
        for t, seq in zip(turns, seqs, strict=True)
        if t.author == Author.customer
    ]
    if not points:
        return SentimentTrend()
    recent = [p.score for p in points[-window:]]
    slope = 0.0
    if len(recent) >= 2:
        n = len(recent)
        mean_x = (n - 1) / 2
        mean_y = sum(recent) / n
        num = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(recent))
        den = sum((i - mean_x) ** 2 for i in range(n))
        slope = num / den
    direction = "improving" if slope > 0.08 else "worsening" if slope < -0.08 else "steady"
    return SentimentTrend(points=points, current=points[-1].score, trend=direction, slope=round(slope, 3))
