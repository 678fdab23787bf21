"""Per-tenant intent classifiers, trained lazily from each tenant's Rasa ``nlu.yml`` plus the
examples of its self-service actions, and cached on disk.

An action is an intent named after it: its ``examples`` (and, when it has fewer than
``MIN_ACTION_EXAMPLES`` in all, its description) join the NLU examples of the intent with
the same name, or make a new one. A tenant with actions but no NLU file gets a classifier
over its actions plus ``NONE_INTENT``, a class of generic customer-service messages that ask
for nothing the tenant can run (predicted as out of scope), so an unrelated question is not
forced onto an action.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bot.intents import IntentClassifier, IntentConfig, IntentPrediction, trained_classifier
from bot.nlu import NluExample, load_nlu
from core.models.embed import Embedder
from core.tenancy.actions import ActionSpec

__all__ = ["MIN_ACTION_EXAMPLES", "NONE_INTENT", "IntentCatalog", "action_examples"]

MIN_ACTION_EXAMPLES = 3
NONE_INTENT = "none"
# Messages any company's customers send that name no action: greetings, thanks, and
# questions about how things work. Written for this purpose; not taken from any data set.
_NONE_EXAMPLES = (
    "hello",
    "hi there",
    "thanks for your help",
    "thank you, that's all",
    "goodbye",
    "how does this work",
    "what are your opening hours",
    "how can I contact you",
    "what is your phone number",
    "can I speak to someone",
    "I want to make a complaint",
    "why is my bill so high",
    "what does this word on my letter mean",
    "how long does it take",
    "do you have a help page about this",
    "I have a question",
    "what are my options",
    "is this something you can help with",
    "I'm not happy with the service",
    "where can I find the terms and conditions",
    "what happens next",
    "how do I change my password",
    "who do I talk to about this",
    "the website isn't loading",
    "I already tried that and it didn't work",
)


def action_examples(actions: Sequence[ActionSpec], nlu: Sequence[NluExample] = ()) -> list[NluExample]:
    """Training examples for the tenant's actions (see the module docstring)."""
    counts: dict[str, int] = {}
    for e in nlu:
        counts[e.intent] = counts.get(e.intent, 0) + 1
    out: list[NluExample] = []
    for a in actions:
        texts = [x.strip() for x in a.examples if x.strip()]
        if counts.get(a.name, 0) + len(texts) < MIN_ACTION_EXAMPLES and a.description.strip():
            texts.append(a.description.strip())
        out.extend(NluExample(t, a.name) for t in texts)
    return out


class _WithoutNone:
    """A classifier whose ``NONE_INTENT`` predictions read as out of scope (intent None) and
    never appear in the ranking (so they never become a conversation's topic)."""

    def __init__(self, inner: IntentClassifier) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def predict_many(self, texts: Sequence[str]) -> list[IntentPrediction]:
        out = []
        for p in self.inner.predict_many(texts):
            ranking = tuple((n, prob) for n, prob in p.ranking if n != NONE_INTENT)
            intent = None if p.intent == NONE_INTENT else p.intent
            out.append(IntentPrediction(intent, p.confidence, p.best, ranking))
        return out

    def predict(self, text: str) -> IntentPrediction:
        return self.predict_many([text])[0]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.predict_proba(texts)


class IntentCatalog:
    def __init__(
        self,
        embedder: Embedder,
        nlu_files: dict[str, Path] | Callable[[str], Path | None],
        cache_dir: Path | None,
        config: IntentConfig | None = None,
        actions: Callable[[str], Sequence[ActionSpec]] | None = None,
    ) -> None:
        """``nlu_files``: tenant → Rasa ``nlu.yml``, or a function that looks it up (from the
        tenant's configuration) on first use; ``actions``: tenant → its declared actions;
        ``forget`` drops a tenant's trained model."""
        self.embedder = embedder
        self._lookup = nlu_files if callable(nlu_files) else dict(nlu_files).get
        self.nlu_files: dict[str, Path] = {} if callable(nlu_files) else dict(nlu_files)
        self._actions = actions
        self.cache_dir = cache_dir
        self.config = config or IntentConfig()
        self._models: dict[str, IntentClassifier] = {}
        self._trained: set[str] = set()
        self._lock = threading.Lock()

    def _examples(self, tenant_id: str) -> list[NluExample] | None:
        path = self._lookup(tenant_id)
        nlu = load_nlu(path) if path is not None and path.is_file() else []
        if nlu and path is not None:
            self.nlu_files[tenant_id] = path
        actions = list(self._actions(tenant_id)) if self._actions is not None else []
        extra = action_examples(actions, nlu)
        if not nlu and not extra:
            return None
        examples = [*nlu, *extra]
        if not nlu:
            examples += [NluExample(t, NONE_INTENT) for t in _NONE_EXAMPLES]
        return examples

    def for_tenant(self, tenant_id: str) -> IntentClassifier | None:
        """The tenant's classifier, or None when the tenant has neither an NLU file nor
        actions (KB answers only)."""
        with self._lock:
            if tenant_id in self._trained:
                return self._models.get(tenant_id)
        examples = self._examples(tenant_id)
        with self._lock:
            if examples is None:
                return None  # nothing to train on yet; looked up again next time
            if tenant_id not in self._trained:
                clf = trained_classifier(examples, self.embedder, self.cache_dir, self.config)
                wrapped = _WithoutNone(clf) if NONE_INTENT in clf.labels else clf
                self._models[tenant_id] = wrapped  # type: ignore[assignment]
                self._trained.add(tenant_id)
            return self._models.get(tenant_id)

    def forget(self, tenant_id: str) -> None:
        with self._lock:
            self._models.pop(tenant_id, None)
            self._trained.discard(tenant_id)
            self.nlu_files.pop(tenant_id, None)

    def describe(self) -> dict[str, object]:
        return {
            "tenants": sorted(self.nlu_files),
            "oos_threshold": self.config.oos_threshold,
            "min_action_examples": MIN_ACTION_EXAMPLES,
        }
