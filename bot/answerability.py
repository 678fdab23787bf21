"""Answerability as a calibrated decision: does the help center answer this question?

A logistic model over domain-neutral signals of the composer's selection (no word lists):

- ``sim``: cosine of the question and its best unit (``sim_any``: and any unit);
- ``coverage``: IDF-weighted share of the question's content words in the best unit
  (``coverage_any``: anywhere in the retrieved units; a word no unit has weighs most);
- ``coverage_focus``: the same for the question sentence alone (not the statement before it);
- ``missing``: how many of the question's content words no retrieved unit contains (≤ 3);
- ``unknown``: how many words of the question sentence the tenant's whole KB never uses (≤ 3;
  ``ContextBuilder.document_frequencies``);
- ``typed`` / ``typed_found``: the question asks for a figure (an amount, a date, a duration,
  a phone number, a time) / the best unit holds one of that kind;
- ``score``: the selection score of the best unit, ``margin``: its lead over the best unit
  of another article; ``sim_gap``: its similarity above the median unit's (self-normalising
  across help centers whose similarities run higher or lower); ``top_source``: it comes from
  the passage retrieval ranked first; ``unknown_all``: as ``unknown`` over the whole part;
- ``words``: how many content words the question has (≤ 12); ``followup``: the question
  leaned on earlier turns (the rewrite added words).

``probability`` is P(answerable). Coefficients are fitted offline by ``python -m bench
answerability --fit`` on public labelled data (MTRAG answerability labels across its
collections, DSTC10 track 2 knowledge-seeking turns with and without their FAQ snippet,
Bitext customer-support intents with and without their answer) and committed in
``bot/answerability.json``, one set per embedder (similarities differ between embedders).
The decision threshold is a per-tenant setting (``TenantConfig.answer_threshold``);
its default is the file's ``threshold``: the highest that still answers 80 % of the answerable
questions in the pooled cross-domain (left-out) predictions (docs/bot.md, "Answerability").
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from statistics import median

from bot.compose.question import WANT_KINDS, Part, Question
from bot.compose.select import PartChoice, Selection, asked_stems, coverage

__all__ = ["FEATURES", "AnswerabilityModel", "features", "load_model", "MODEL_FILE"]

MODEL_FILE = Path(__file__).with_name("answerability.json")
FEATURES = (
    "sim",
    "sim_any",
    "coverage",
    "coverage_focus",
    "coverage_any",
    "missing",
    "unknown",
    "typed",
    "typed_found",
    "score",
    "margin",
    "sim_gap",
    "unknown_all",
    "top_source",
    "words",
    "followup",
)


def features(selection: Selection, choice: PartChoice | None = None) -> dict[str, float]:
    """The signals of one part's choice (default: all parts as one question)."""
    q: Question = selection.question
    if choice is None:
        choice = _whole(selection)
    part: Part = choice.part
    ranked = choice.ranked
    stems = asked_stems(part.text, selection.ignore)
    everything: set[str] = set()
    for u in selection.units:
        everything |= u.search_stems
    default_idf = math.log(1 + max(len(selection.units), 1))
    idf = selection.idf
    cov_any = coverage(stems, everything, idf, default_idf)
    missing = sum(w not in everything for w in stems)
    focus = asked_stems(part.focus, selection.ignore)
    vocabulary = selection.vocabulary
    # Words of the question itself the help center never uses ("interest", a language, a
    # product it does not sell); without the tenant's vocabulary, the retrieved units'.
    # Figures ("£412.60", "27") are not vocabulary: a help center need not have said them.
    unknown = sum(_unknown(w, vocabulary, everything) for w in focus)
    unknown_all = sum(_unknown(w, vocabulary, everything) for w in stems)
    best = ranked[0] if ranked else None
    other = next((s for s in ranked[1:] if best is not None and s.unit.article_id != best.unit.article_id), None)
    typed = bool(part.wants & set(WANT_KINDS))
    best_stems: frozenset[str] = best.unit.search_stems if best else frozenset()
    return {
        "sim": best.sim if best else 0.0,
        "sim_any": max((s.sim for s in ranked), default=0.0),
        "coverage": best.coverage if best else 0.0,
        "coverage_focus": coverage(focus, best_stems, idf, default_idf),
        "coverage_any": cov_any,
        "missing": float(min(missing, 3)),
        "unknown": float(min(unknown, 3)),
        "typed": float(typed),
        "typed_found": float(bool(best and typed and best.typed)),
        "score": best.score if best else 0.0,
        "margin": (best.score - other.score) if best and other else 0.0,
        "sim_gap": (best.sim - float(median(s.sim for s in ranked))) if best else 0.0,
        "unknown_all": float(min(unknown_all, 3)),
        "top_source": float(bool(best and best.unit.source == 0)),
        "words": float(min(len(stems), 12)),
        "followup": float(bool(q.context) and q.context.strip() != q.text.strip()),
    }


def _unknown(stem: str, vocabulary: dict[str, int] | None, retrieved: set[str]) -> bool:
    if not any(ch.isalpha() for ch in stem) or any(ch.isdigit() for ch in stem):
        return False
    return (vocabulary.get(stem, 0) if vocabulary is not None else stem in retrieved) == 0


def _whole(selection: Selection) -> PartChoice:
    """The part whose best unit scores highest stands for the question."""
    choices = [pc for pc in selection.parts if pc.ranked] or selection.parts
    return max(choices, key=lambda pc: pc.ranked[0].score if pc.ranked else -1.0)


@dataclass(frozen=True)
class AnswerabilityModel:
    """Standardised logistic regression: P = σ(b + Σ wᵢ·(xᵢ − μᵢ)/σᵢ)."""

    embedder: str
    names: tuple[str, ...]
    weights: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float

    def probability(self, values: dict[str, float]) -> float:
        z = self.intercept
        for name, w, mu, sd in zip(self.names, self.weights, self.mean, self.scale, strict=True):
            z += w * (values.get(name, 0.0) - mu) / (sd or 1.0)
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def to_dict(self) -> dict[str, object]:
        return {
            "embedder": self.embedder,
            "names": list(self.names),
            "weights": list(self.weights),
            "intercept": self.intercept,
            "mean": list(self.mean),
            "scale": list(self.scale),
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> AnswerabilityModel:
        def floats(key: str) -> tuple[float, ...]:
            value = data[key]
            assert isinstance(value, list)
            return tuple(float(x) for x in value)

        names = data["names"]
        assert isinstance(names, list)
        model = cls(
            embedder=str(data["embedder"]),
            names=tuple(str(n) for n in names),
            weights=floats("weights"),
            intercept=float(str(data["intercept"])),
            mean=floats("mean"),
            scale=floats("scale"),
            threshold=float(str(data["threshold"])),
        )
        if not (len(model.names) == len(model.weights) == len(model.mean) == len(model.scale)):
            raise ValueError("answerability model: names, weights, mean and scale must have the same length")
        return model


@lru_cache(maxsize=8)
def load_model(embedder: str, path: Path = MODEL_FILE) -> AnswerabilityModel | None:
    """The fitted model for ``embedder`` (e.g. "minilm"), or None when the file has none.

    Raises ``ValueError`` when the file exists but is malformed (a broken commit, not a
    reason to answer everything)."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); re-run python -m bench answerability --fit") from exc
    models = data.get("models", {}) if isinstance(data, dict) else {}
    entry = models.get(embedder)
    return AnswerabilityModel.from_dict(entry) if isinstance(entry, dict) else None
