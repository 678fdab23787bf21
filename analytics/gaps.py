"""Knowledge gaps: the questions the bot abstained on or handed off as ``no_answer``, grouped
by meaning with the tenant's ``Embedder`` (MiniLM by default), with counts, examples and the
KB drafts the learning loop made from those conversations.

Grouping: agglomerative clustering, average linkage, cosine distance, cut at
``1 - similarity`` (scikit-learn). ``similarity`` is calibrated in ``bench/analytics_gaps.py``
on public intent data sets (questions of one intent should share a cluster).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analytics.classify import gap_questions
from analytics.facts import ConversationFacts, DraftFact
from analytics.report import DraftLink, GapCluster
from core.models.embed import Embedder

__all__ = ["DEFAULT_GAP_SIMILARITY", "GapFinder", "GapQuestion"]

DEFAULT_GAP_SIMILARITY = 0.45  # MiniLM: best mean ARI on CLINC150 + BANKING77 samples (bench/analytics_gaps.py)
MAX_EXAMPLES = 3
MAX_IDS = 50


@dataclass(frozen=True)
class GapQuestion:
    conversation_id: str
    seq: int
    text: str
    why: str  # abstain | no_answer


def cluster_labels(vectors: np.ndarray, similarity: float) -> np.ndarray:
    """Cluster ids (0..k-1) for unit-normalised rows; rows closer than ``similarity``
    (cosine, average linkage) end up together."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1:
        return np.zeros(1, dtype=int)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=1.0 - similarity
    )
    labels: np.ndarray = model.fit_predict(vectors)
    return labels


class GapFinder:
    """Groups unanswered questions. Vectors are cached by text (bounded), so a dashboard
    refresh embeds only new questions."""

    def __init__(self, embedder: Embedder, similarity: float = DEFAULT_GAP_SIMILARITY, cache_size: int = 20_000):
        if not 0.0 < similarity < 1.0:
            raise ValueError(f"similarity must be between 0 and 1 (exclusive), got {similarity}")
        self.embedder = embedder
        self.similarity = similarity
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def describe(self) -> dict[str, object]:
        return {
            "embedder": self.embedder.describe(),
            "method": "agglomerative, average linkage, cosine",
            "similarity": self.similarity,
        }

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            fresh = self.embedder.embed(missing)
            with self._lock:
                for text, vec in zip(missing, fresh, strict=True):
                    self._cache[text] = vec
                    self._cache.move_to_end(text)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        with self._lock:
            rows = [self._cache.get(t) for t in texts]
        if any(r is None for r in rows):  # evicted meanwhile by a huge batch: embed directly
            return self.embedder.embed(list(texts))
        return np.vstack([r for r in rows if r is not None]) if rows else np.zeros((0, self.embedder.dim))

    @staticmethod
    def questions(convs: list[ConversationFacts]) -> list[GapQuestion]:
        return [
            GapQuestion(c.id, seq, text, why)
            for c in convs
            if c.engaged
            for seq, text, why in gap_questions(c)
            if text.strip()
        ]

    def clusters(self, questions: list[GapQuestion], drafts: list[DraftFact]) -> list[GapCluster]:
        """Largest cluster first; each with its most central question as the label."""
        if not questions:
            return []
        vecs = self.vectors([q.text for q in questions])
        labels = cluster_labels(vecs, self.similarity)
        drafts_by_conv: dict[str, list[DraftFact]] = {}
        for d in drafts:
            drafts_by_conv.setdefault(d.conversation_id, []).append(d)
        out = []
        for label in sorted(set(labels.tolist())):
            idx = [i for i, lab in enumerate(labels) if lab == label]
            centre = vecs[idx].mean(axis=0)
            order = sorted(idx, key=lambda i: -float(vecs[i] @ centre))
            members = [questions[i] for i in order]
            examples = list(dict.fromkeys(q.text for q in members))[:MAX_EXAMPLES]
            conv_ids = list(dict.fromkeys(q.conversation_id for q in members))
            links = [
                DraftLink(id=d.id, title=d.title, status=d.status, conversation_id=d.conversation_id)
                for cid in conv_ids
                for d in drafts_by_conv.get(cid, [])
            ]
            out.append(
                GapCluster(
                    label=members[0].text,
                    questions=len(members),
                    conversations=len(conv_ids),
                    abstained=sum(1 for q in members if q.why == "abstain"),
                    no_answer=sum(1 for q in members if q.why == "no_answer"),
                    examples=examples,
                    conversation_ids=conv_ids[:MAX_IDS],
                    drafts=links,
                )
            )
        return sorted(out, key=lambda c: (-c.questions, -c.conversations, c.label))
