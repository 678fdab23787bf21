"""A tenant's next-best-action catalog: what an agent of this company can do next.

The format is the tenant configuration's ``copilot.next_actions`` (``core.tenancy``): each
action has a ``key``, a ``description`` and ``when`` examples (situations in which it is
the right next step, in the company's own words). Actions may carry ordered ``steps``
(the ABCD importer fills them from a guidelines pack: its subflow's required actions);
otherwise the steps come at run time from the internal guideline article that matches.

``from_guidelines`` imports an ABCD-style pack (``copilot.guidelines``): one catalog action
per subflow, its manual's example questions as ``when``, its required actions as steps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, Field

from copilot.guidelines import Guidelines
from core.tenancy.config import NextAction, SensitiveTopic

__all__ = ["ActionCatalog", "CatalogAction", "Step", "from_guidelines", "from_next_actions", "link_topics"]


class Step(BaseModel):
    """One step of an action: a key (for ticking it done), a label and the instruction."""

    key: str
    label: str
    text: str = ""
    details: list[str] = Field(default_factory=list)


class CatalogAction(BaseModel):
    key: str
    label: str
    description: str
    when: list[str] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)  # ordered; empty: taken from the guideline article
    group: str = ""  # e.g. the ABCD flow

    def texts(self) -> list[str]:
        """What a conversation is compared with: the description and every example."""
        return [self.description, *self.when]

    def profile(self) -> str:
        return " ".join([self.label, self.description, *self.when])

    def mentions(self, article_id: str) -> bool:
        """Whether the action's own text names this KB article (e.g. "… (KB-021)")."""
        if not article_id:
            return False
        pattern = rf"(?<![\w-]){re.escape(article_id)}(?![\w-])"
        return re.search(pattern, self.profile(), re.IGNORECASE) is not None


class ActionCatalog(BaseModel):
    source: str = ""
    actions: list[CatalogAction] = Field(default_factory=list)

    def get(self, key: str) -> CatalogAction | None:
        return next((a for a in self.actions if a.key == key), None)


def label_of(key: str) -> str:
    """``issue_refund`` -> ``Issue refund``."""
    words = re.split(r"[_\-\s]+", key.strip())
    text = " ".join(w for w in words if w)
    return text[:1].upper() + text[1:]


def from_next_actions(actions: Iterable[NextAction], source: str = "tenant configuration") -> ActionCatalog:
    return ActionCatalog(
        source=source,
        actions=[
            CatalogAction(key=a.key, label=label_of(a.key), description=a.description, when=list(a.when))
            for a in actions
        ],
    )


def from_guidelines(guidelines: Guidelines) -> ActionCatalog:
    """An ABCD pack as a catalog: each subflow is an action whose steps are its required actions."""
    out: list[CatalogAction] = []
    for sub in guidelines.subflows:
        steps = []
        for key in sub.required:
            guide = sub.action(key)
            steps.append(Step(key=key, label=guide.label, text=guide.text, details=list(guide.subtext)))
        notes = " ".join(sub.instructions)[:400]
        words = sub.key.replace("_", " ")
        description = f"{sub.name} ({words}). {sub.flow}: {sub.flow_description}. {notes}".strip()
        out.append(
            CatalogAction(
                key=sub.key,
                label=sub.name,
                description=description,
                when=sub.exemplars(),
                steps=steps,
                group=sub.flow,
            )
        )
    return ActionCatalog(source=guidelines.source, actions=out)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _tfidf(texts: list[str]) -> tuple[list[dict[str, float]], dict[str, float]]:
    import math

    from copilot.text import content_words

    bags = [{_stem(w): 1.0 for w in content_words(t) if not w.isdigit()} for t in texts]
    df: dict[str, int] = {}
    for bag in bags:
        for w in bag:
            df[w] = df.get(w, 0) + 1
    idf = {w: math.log(1 + len(bags) / n) for w, n in df.items()}
    return bags, idf


def link_topics(
    catalog: ActionCatalog, topics: Iterable[SensitiveTopic], *, min_similarity: float = 0.2, margin: float = 1.5
) -> ActionCatalog:
    """The tenant's sensitive topics (``sensitive_topics``: examples of what a customer in
    that situation writes, and what to do) lend their examples to the catalog action whose
    text matches the topic's key, skill and guidance best (TF-IDF cosine over the catalog,
    at least ``min_similarity``): "my dad has died" becomes one more example of the action
    that transfers to the bereavement team. A topic that matches no action adds nothing."""
    import math

    topics = [t for t in topics if t.examples]
    if not topics or not catalog.actions:
        return catalog
    profiles = [a.profile() for a in catalog.actions]
    bags, idf = _tfidf(profiles)

    def vec(text: str) -> dict[str, float]:
        from copilot.text import content_words

        return {_stem(w): idf[_stem(w)] for w in content_words(text) if _stem(w) in idf}

    def cos(a: dict[str, float], b: dict[str, float]) -> float:
        num = sum(v * b[w] for w, v in a.items() if w in b)
        den = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
        return num / den if den else 0.0

    action_vecs = [{w: idf[w] for w in bag} for bag in bags]
    extra: dict[int, list[str]] = {}
    for topic in topics:
        text = " ".join(
            [topic.key.replace("_", " "), (topic.skill or "").replace("_", " "), topic.queue or "", topic.respond]
        )
        sims = [cos(vec(text), av) for av in action_vecs]
        order = sorted(range(len(sims)), key=lambda i: -sims[i])
        best = order[0]
        runner_up = sims[order[1]] if len(order) > 1 else 0.0
        # A clear match only: the best action well ahead of the next one.
        if sims[best] >= min_similarity and sims[best] >= margin * runner_up:
            extra.setdefault(best, []).extend(topic.examples)
    if not extra:
        return catalog
    actions = [
        a.model_copy(update={"when": [*a.when, *[e for e in extra.get(i, []) if e not in a.when]]})
        for i, a in enumerate(catalog.actions)
    ]
    return catalog.model_copy(update={"actions": actions})
