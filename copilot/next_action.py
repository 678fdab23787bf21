"""Next best action from the tenant's guidelines.

The conversation's customer turns are matched to a subflow of the guidelines (embedding
similarity to the subflow profile plus shared words); the next best action is the first
required action of that subflow the agent has not done yet.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from copilot.guidelines import Guidelines, Subflow, load_guidelines
from copilot.text import content_words
from core.models.embed import Embedder
from core.types import Author, Turn

_PLACEHOLDER = re.compile(r"<[a-z_]+>|\S+@\S+|\d[\d\s()-]{5,}")


class NextBestAction(BaseModel):
    subflow: str
    subflow_name: str
    flow: str
    confidence: float
    action: str | None  # None: every required action is done
    label: str = ""
    guidance: str = ""
    details: list[str] = Field(default_factory=list)
    done: list[str] = Field(default_factory=list)
    remaining: list[str] = Field(default_factory=list)
    alternatives: list[str] = Field(default_factory=list)  # other likely subflows


class NextActionAdvisor:
    """Classifies a conversation into a subflow and returns its next required action."""

    def __init__(
        self,
        guidelines: Guidelines,
        embedder: Embedder,
        *,
        lexical_weight: float = 0.35,
        min_confidence: float = 0.2,
        max_turns: int = 6,
    ) -> None:
        if not guidelines.subflows:
            raise ValueError("guidelines have no subflows")
        if not 0.0 <= lexical_weight <= 1.0:
            raise ValueError("lexical_weight must be within 0..1")
        self.guidelines = guidelines
        self.embedder = embedder
        self.lexical_weight = lexical_weight
        self.min_confidence = min_confidence
        self.max_turns = max_turns
        self._vectors: np.ndarray | None = None
        self._owner = np.zeros(0, dtype=int)
        self._words = [content_words(f"{s.name} {s.key.replace('_', ' ')}") for s in guidelines.subflows]
        self._lock = threading.Lock()
        self.cache_size = 4096
        self._turn_vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def _profile_vectors(self) -> np.ndarray:
        """One row per profile text; ``self._owner`` maps rows to subflows (a subflow has its
        profile plus the example questions of its manual entry)."""
        with self._lock:
            if self._vectors is None:
                texts: list[str] = []
                owner: list[int] = []
                for i, sub in enumerate(self.guidelines.subflows):
                    for text in [sub.profile(), *sub.exemplars()]:
                        texts.append(text)
                        owner.append(i)
                self._owner = np.array(owner)
                self._vectors = self.embedder.embed(texts)
            return self._vectors

    def texts(self, turns: list[Turn]) -> list[str]:
        """The customer turns that say what the conversation is about."""
        said_turns = [t.text for t in turns if t.author == Author.customer and t.text.strip()]
        # Turns that only carry a name, an id or "ok" say nothing about the subflow.
        texts = [x for x in said_turns if len(content_words(_PLACEHOLDER.sub(" ", x))) >= 2][: self.max_turns]
        return texts or said_turns[: self.max_turns]

    def missing(self, texts: list[str]) -> list[str]:
        with self._lock:
            return [t for t in dict.fromkeys(texts) if t not in self._turn_vectors]

    def remember(self, texts: list[str], vectors: np.ndarray) -> None:
        """Keep turn embeddings (computed by the caller in the same batch as its query)."""
        with self._lock:
            for t, v in zip(texts, vectors, strict=True):
                self._turn_vectors[t] = v
                self._turn_vectors.move_to_end(t)
            while len(self._turn_vectors) > self.cache_size:
                self._turn_vectors.popitem(last=False)

    def scores(self, turns: list[Turn]) -> np.ndarray:
        texts = self.texts(turns)
        n = len(self.guidelines.subflows)
        if not texts:
            return np.zeros(n)
        profiles = self._profile_vectors()
        missing = self.missing(texts)
        if missing:
            self.remember(missing, self.embedder.embed(missing))
        with self._lock:
            vecs = np.stack([self._turn_vectors[t] for t in texts])
        mean = vecs.mean(axis=0)
        mean = mean / (np.linalg.norm(mean) or 1.0)
        per_row = 0.5 * (profiles @ mean) + 0.5 * (vecs @ profiles.T).max(axis=0)
        dense = np.full(n, -1.0)
        np.maximum.at(dense, self._owner, per_row)
        said = content_words(" ".join(texts))
        lexical = np.array([len(w & said) / len(w) if w else 0.0 for w in self._words])
        result: np.ndarray = (1 - self.lexical_weight) * dense + self.lexical_weight * lexical
        return result

    def classify(self, turns: list[Turn]) -> tuple[Subflow, float, list[Subflow]]:
        scores = self.scores(turns)
        order = np.argsort(-scores)
        best = self.guidelines.subflows[int(order[0])]
        others = [self.guidelines.subflows[int(i)] for i in order[1:3]]
        return best, float(scores[order[0]]), others

    def advise(self, turns: list[Turn], done: list[str] | None = None) -> NextBestAction | None:
        if not any(t.author == Author.customer for t in turns):
            return None
        sub, confidence, others = self.classify(turns)
        if confidence < self.min_confidence:
            return None
        return self.next_for(sub, done or [], confidence, others)

    @staticmethod
    def next_for(
        sub: Subflow, done: list[str], confidence: float = 1.0, others: list[Subflow] | None = None
    ) -> NextBestAction:
        done_set = set(done)
        remaining = [a for a in sub.required if a not in done_set]
        nxt = remaining[0] if remaining else None
        guide = sub.action(nxt) if nxt else None
        return NextBestAction(
            subflow=sub.key,
            subflow_name=sub.name,
            flow=sub.flow,
            confidence=round(confidence, 3),
            action=nxt,
            label=guide.label if guide else "Wrap up",
            guidance=guide.text if guide else " ".join(sub.instructions[-1:]) or "All required steps are done.",
            details=guide.subtext if guide else [],
            done=[a for a in sub.required if a in done_set],
            remaining=remaining,
            alternatives=[o.name for o in others or []],
        )

    def describe(self) -> dict[str, object]:
        return {
            "guidelines": self.guidelines.source,
            "subflows": len(self.guidelines.subflows),
            "lexical_weight": self.lexical_weight,
        }


class TenantAdvisors:
    """One advisor per tenant: the tenant's own guidelines pack (tenant config
    ``guidelines_dir``) or the default pack; built on first use and kept."""

    def __init__(
        self,
        embedder: Embedder,
        default_folder: Path | None,
        tenant_folder: Callable[[str], str | None] = lambda tenant: None,
    ) -> None:
        self.embedder = embedder
        self.default_folder = default_folder
        self.tenant_folder = tenant_folder
        self._cache: dict[str, NextActionAdvisor | None] = {}
        self._lock = threading.Lock()

    def _load(self, folder: Path | None) -> NextActionAdvisor | None:
        if folder is None or not folder.is_dir():
            return None
        return NextActionAdvisor(load_guidelines(folder), self.embedder)

    def __call__(self, tenant_id: str) -> NextActionAdvisor | None:
        with self._lock:
            if tenant_id not in self._cache:
                own = self.tenant_folder(tenant_id)
                self._cache[tenant_id] = self._load(Path(own) if own else self.default_folder)
            return self._cache[tenant_id]
