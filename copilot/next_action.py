"""Next best action from the tenant's own action catalog (``copilot.catalog``).

Each catalog action is scored against the conversation and what the copilot knows:

- **meaning** (MiniLM cosine): every turn, the customer's and the agent's (the agent often
  names the situation: "I can see the switch request"), against the action's description
  and each of its ``when`` examples; the best turn (the customer's last turn weighs most,
  the agent's a little less) and the whole conversation (weighted mean of the turn vectors)
  count half each;
- **words**: TF-IDF cosine between the conversation's content words and the action's text,
  with IDF over the catalog (a word every action uses says nothing);
- **articles**: an action whose text names one of the suggested articles (by id);
- **customer record**: the names of the customer's non-empty CRM fields (``payment_plan``,
  ``switch_away``…) against the action's words. Only field *names* and short values count:
  free text in the record (ticket notes, pasted e-mails) is customer content, never an
  instruction, so it cannot steer the suggestion.

The best action is returned with why (the turn and the example it matched, the record
fields and the article), its confidence, the next two alternatives, and its steps: an
imported action's own ordered steps (ABCD), or the steps of the guideline article that
``copilot.suggest`` finds for it (``with_guideline``).
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from copilot.catalog import ActionCatalog, CatalogAction, from_guidelines, from_next_actions, link_topics
from copilot.guidelines import load_guidelines
from copilot.text import content_words
from core.models.embed import Embedder
from core.tenancy.config import TenantConfig
from core.types import Author, CustomerFacts, Passage, Turn

__all__ = [
    "ActionOption",
    "GuidelineStep",
    "NextActionAdvisor",
    "NextBestAction",
    "TenantAdvisors",
    "record_fields",
]

_PLACEHOLDER = re.compile(r"<[a-z_]+>|\S+@\S+|\d[\d\s()-]{5,}")
_KEY_WORDS = re.compile(r"[a-z]+")


class ActionOption(BaseModel):
    key: str
    label: str
    confidence: float


class GuidelineStep(BaseModel):
    key: str  # a stable id for ticking it done
    text: str
    done: bool = False


class NextBestAction(BaseModel):
    """The suggested next action. ``key`` is the catalog action's key; ``reason`` says why;
    ``steps`` are what the guideline lists (internal guidance: never sent to a customer)."""

    key: str
    label: str
    description: str = ""
    confidence: float
    reason: str = ""
    evidence: list[str] = Field(default_factory=list)
    steps: list[GuidelineStep] = Field(default_factory=list)
    step: str | None = None  # the next step not yet done (None: all done, or no ordered steps)
    step_label: str = ""
    guidance: str = ""  # the next step's instruction text
    guideline_article: str | None = None  # article the steps come from
    guideline_title: str = ""
    group: str = ""
    alternatives: list[ActionOption] = Field(default_factory=list)


@dataclass(frozen=True)
class _Scored:
    action: CatalogAction
    score: float
    turn: str  # the conversation text that matched best
    example: str  # the action text it matched
    record: list[str]
    article: str | None


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _terms(text: str) -> Counter[str]:
    return Counter(_stem(w) for w in content_words(text) if not w.isdigit())


def record_fields(facts: CustomerFacts | None, *, depth: int = 2) -> list[str]:
    """Dotted names of the customer's non-empty CRM fields (``payment_plan.status``)."""
    if facts is None:
        return []
    out: list[str] = []

    def walk(value: object, path: str, level: int) -> None:
        if value in (None, "", [], {}, False):
            return
        if isinstance(value, dict) and level < depth:
            for k, v in value.items():
                walk(v, f"{path}.{k}" if path else str(k), level + 1)
            return
        out.append(path)

    walk(facts.attributes, "", 0)
    return out


class NextActionAdvisor:
    """Ranks a tenant's catalog actions for a conversation (see the module docstring)."""

    def __init__(
        self,
        catalog: ActionCatalog,
        embedder: Embedder,
        *,
        lexical_weight: float = 0.25,
        article_weight: float = 0.1,
        record_weight: float = 0.05,
        agent_weight: float = 0.85,
        min_confidence: float = 0.2,
        max_turns: int = 8,
    ) -> None:
        if not catalog.actions:
            raise ValueError("the action catalog is empty")
        for name, w in (("lexical_weight", lexical_weight), ("article_weight", article_weight),
                        ("record_weight", record_weight), ("agent_weight", agent_weight)):
            if not 0.0 <= w <= 1.0:
                raise ValueError(f"{name} must be within 0..1")
        self.catalog = catalog
        self.embedder = embedder
        self.lexical_weight = lexical_weight
        self.article_weight = article_weight
        self.record_weight = record_weight
        self.agent_weight = agent_weight
        self.min_confidence = min_confidence
        self.max_turns = max_turns
        self._vectors: np.ndarray | None = None
        self._owner = np.zeros(0, dtype=int)
        self._row_text: list[str] = []
        self._terms = [_terms(a.profile()) for a in catalog.actions]
        docs = Counter(t for terms in self._terms for t in terms)
        n = len(catalog.actions)
        self._idf = {t: math.log(1 + n / df) for t, df in docs.items()}
        # Words that name a few actions only (a record field "customer_since" says nothing).
        self._distinctive = frozenset(t for t, df in docs.items() if df <= max(1, n // 4))
        self._lock = threading.Lock()
        self.cache_size = 4096
        self._turn_vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    # -- vectors ----------------------------------------------------------------------------

    def _profile_vectors(self) -> np.ndarray:
        """One row per action text (description, each example); ``_owner`` maps rows to actions."""
        with self._lock:
            if self._vectors is None:
                texts: list[str] = []
                owner: list[int] = []
                for i, action in enumerate(self.catalog.actions):
                    for text in action.texts():
                        if text.strip():
                            texts.append(text)
                            owner.append(i)
                self._owner = np.array(owner)
                self._row_text = texts
                self._vectors = self.embedder.embed(texts)
            return self._vectors

    def action_vector(self, key: str) -> np.ndarray | None:
        """The action's texts as one unit vector (mean of its description and examples)."""
        profiles = self._profile_vectors()
        index = next((i for i, a in enumerate(self.catalog.actions) if a.key == key), None)
        if index is None:
            return None
        mean = profiles[self._owner == index].mean(axis=0)
        out: np.ndarray = mean / (np.linalg.norm(mean) or 1.0)
        return out

    def texts(self, turns: list[Turn]) -> list[str]:
        """The turns that say what the conversation is about (customer and agent), in order."""
        said = [t for t in turns if t.author in (Author.customer, Author.agent) and t.text.strip()]
        informative = [t for t in said if len(content_words(_PLACEHOLDER.sub(" ", t.text))) >= 2]
        chosen = informative or said
        if len(chosen) > self.max_turns:  # a long conversation: how it began (the issue) and where it is now
            half = self.max_turns // 2
            chosen = chosen[:half] + chosen[-(self.max_turns - half) :]
        return [t.text for t in chosen]

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

    def _turn_matrix(self, texts: list[str]) -> np.ndarray:
        missing = self.missing(texts)
        if missing:
            self.remember(missing, self.embedder.embed(missing))
        with self._lock:
            return np.stack([self._turn_vectors[t] for t in texts])

    # -- scoring ----------------------------------------------------------------------------

    def _lexical(self, said: Counter[str]) -> np.ndarray:
        def norm(terms: Counter[str]) -> float:
            return math.sqrt(sum((self._idf.get(t, 0.0)) ** 2 for t in terms))

        said_norm = norm(said)
        out = np.zeros(len(self.catalog.actions))
        if not said_norm:
            return out
        for i, terms in enumerate(self._terms):
            shared = sum(self._idf.get(t, 0.0) ** 2 for t in terms.keys() & said.keys())
            denom = said_norm * norm(terms)
            out[i] = shared / denom if denom else 0.0
        return out

    def rank(
        self, turns: list[Turn], *, facts: CustomerFacts | None = None, articles: list[Passage] | None = None
    ) -> list[_Scored]:
        said_turns = [t for t in turns if t.author in (Author.customer, Author.agent) and t.text.strip()]
        texts = self.texts(turns)
        if not texts or not any(t.author == Author.customer for t in said_turns):
            return []
        authors = {t.text: t.author for t in said_turns}
        last_customer = next((t.text for t in reversed(said_turns) if t.author == Author.customer), "")
        weights = np.array(
            [1.0 if x == last_customer else 0.95 if authors.get(x) == Author.customer else self.agent_weight
             for x in texts]
        )
        profiles = self._profile_vectors()
        vecs = self._turn_matrix(texts)
        sims = vecs @ profiles.T  # turns x rows
        n = len(self.catalog.actions)
        # Best turn per action row, weighted by who said it.
        per_row_turn = (sims * weights[:, None]).max(axis=0)
        mean = (vecs * weights[:, None]).sum(axis=0)
        mean = mean / (np.linalg.norm(mean) or 1.0)
        per_row = 0.5 * per_row_turn + 0.5 * (profiles @ mean)
        dense = np.full(n, -1.0)
        best_row = np.zeros(n, dtype=int)
        for row, owner in enumerate(self._owner):
            if per_row[row] > dense[owner]:
                dense[owner] = per_row[row]
                best_row[owner] = row
        lexical = self._lexical(_terms(" ".join(texts)))
        fields = list(dict.fromkeys(f.split(".")[0] for f in record_fields(facts)))
        record_terms = {
            f: Counter({t: 1 for t in _terms(" ".join(_KEY_WORDS.findall(f.replace("_", " ").lower())))
                        if t in self._distinctive})
            for f in fields
        }
        ranked = articles or []
        scores: list[_Scored] = []
        for i, action in enumerate(self.catalog.actions):
            shares = {
                f: len(terms.keys() & self._terms[i].keys()) / len(terms) for f, terms in record_terms.items() if terms
            }  # only words that single out a few actions count (see ``_distinctive``)
            matched = [f for f, share in shares.items() if share >= 0.5]
            record = min(1.0, sum(shares[f] for f in matched) / 2)
            article, linked = None, 0.0
            for r, p in enumerate(ranked[:5]):
                if action.mentions(p.article_id):
                    article, linked = p.article_id, 1.0 / (1 + r)
                    break
            score = (
                (1 - self.lexical_weight - self.article_weight - self.record_weight) * float(dense[i])
                + self.lexical_weight * float(lexical[i])
                + self.article_weight * linked
                + self.record_weight * record
            )
            row = int(best_row[i])
            turn_i = int(np.argmax(sims[:, row] * weights))
            scores.append(_Scored(action, score, texts[turn_i], self._row_text[row], matched, article))
        scores.sort(key=lambda s: -s.score)
        return scores

    def advise(
        self,
        turns: list[Turn],
        done: list[str] | None = None,
        *,
        facts: CustomerFacts | None = None,
        articles: list[Passage] | None = None,
    ) -> NextBestAction | None:
        # An action ticked done (one without steps of its own) makes way for the next one.
        finished = set(done or [])
        ranked = [
            s for s in self.rank(turns, facts=facts, articles=articles)
            if s.action.steps or s.action.key not in finished
        ]
        if not ranked or ranked[0].score < self.min_confidence:
            return None
        best = ranked[0]
        others = [
            ActionOption(key=s.action.key, label=s.action.label, confidence=round(s.score, 3)) for s in ranked[1:3]
        ]
        return self.suggestion(best, done or [], others)

    @staticmethod
    def suggestion(best: _Scored, done: list[str], others: list[ActionOption]) -> NextBestAction:
        action = best.action
        done_set = set(done)
        evidence = [f"said: “{_clip(best.turn)}”"]
        if best.example and best.example != action.description:
            evidence.append(f"like: “{_clip(best.example)}”")
        if best.record:
            evidence.append("record: " + ", ".join(best.record))
        if best.article:
            evidence.append(f"article: {best.article}")
        steps = [GuidelineStep(key=s.key, text=s.text or s.label, done=s.key in done_set) for s in action.steps]
        nxt = next((s for s in action.steps if s.key not in done_set), None)
        return NextBestAction(
            key=action.key,
            label=action.label,
            description=action.description,
            confidence=round(best.score, 3),
            reason="; ".join(evidence),
            evidence=evidence,
            steps=steps,
            step=nxt.key if nxt else None,
            step_label=nxt.label if nxt else ("Wrap up" if action.steps else ""),
            guidance=(nxt.text if nxt else "") or action.description,
            group=action.group,
            alternatives=others,
        )

    def describe(self) -> dict[str, object]:
        return {
            "catalog": self.catalog.source,
            "actions": len(self.catalog.actions),
            "lexical_weight": self.lexical_weight,
            "article_weight": self.article_weight,
            "record_weight": self.record_weight,
        }


def _clip(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def with_guideline(nba: NextBestAction, article: Passage, steps: list[str]) -> NextBestAction:
    """The suggestion with the steps a guideline article lists for it (when the catalog
    action has no ordered steps of its own)."""
    if nba.steps or not steps:
        return nba
    return nba.model_copy(
        update={
            "steps": [GuidelineStep(key=f"{article.article_id}#{i}", text=s) for i, s in enumerate(steps)],
            "guideline_article": article.article_id,
            "guideline_title": article.title,
            "reason": f"{nba.reason}; guideline: {article.title}",
            "evidence": [*nba.evidence, f"guideline: {article.title}"],
        }
    )


class TenantAdvisors:
    """One advisor per tenant, from its configuration's ``copilot.next_actions`` (with the
    examples of its ``sensitive_topics`` lent to the actions they match); a tenant
    whose configuration names an ABCD ``guidelines_dir`` instead gets that pack imported.
    Built on first use and kept until ``forget``."""

    def __init__(self, embedder: Embedder, config: Callable[[str], TenantConfig | None]) -> None:
        self.embedder = embedder
        self.config = config
        self._cache: dict[str, NextActionAdvisor | None] = {}
        self._lock = threading.Lock()

    def _build(self, tenant_id: str) -> NextActionAdvisor | None:
        config = self.config(tenant_id)
        if config is None:
            return None
        if config.copilot.next_actions:
            catalog = link_topics(from_next_actions(config.copilot.next_actions), config.sensitive_topics)
            return NextActionAdvisor(catalog, self.embedder)
        if config.guidelines_dir and Path(config.guidelines_dir).is_dir():
            return NextActionAdvisor(from_guidelines(load_guidelines(Path(config.guidelines_dir))), self.embedder)
        return None

    def __call__(self, tenant_id: str) -> NextActionAdvisor | None:
        with self._lock:
            if tenant_id in self._cache:
                return self._cache[tenant_id]
        advisor = self._build(tenant_id)
        with self._lock:
            self._cache[tenant_id] = advisor
        return advisor

    def forget(self, tenant_id: str) -> None:
        with self._lock:
            self._cache.pop(tenant_id, None)
