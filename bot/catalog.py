"""Per-tenant intent classifiers, trained lazily from each tenant's Rasa ``nlu.yml`` and cached on disk."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from bot.intents import IntentClassifier, IntentConfig, trained_classifier
from bot.nlu import load_nlu
from core.models.embed import Embedder


class IntentCatalog:
    def __init__(
        self,
        embedder: Embedder,
        nlu_files: dict[str, Path] | Callable[[str], Path | None],
        cache_dir: Path | None,
        config: IntentConfig | None = None,
    ) -> None:
        """``nlu_files``: tenant → Rasa ``nlu.yml``, or a function that looks it up (from the
        tenant's configuration) on first use; ``forget`` drops a tenant's trained model."""
        self.embedder = embedder
        self._lookup = nlu_files if callable(nlu_files) else dict(nlu_files).get
        self.nlu_files: dict[str, Path] = {} if callable(nlu_files) else dict(nlu_files)
        self.cache_dir = cache_dir
        self.config = config or IntentConfig()
        self._models: dict[str, IntentClassifier] = {}
        self._lock = threading.Lock()

    def for_tenant(self, tenant_id: str) -> IntentClassifier | None:
        """The tenant's classifier, or None when the tenant has no NLU file (KB answers only)."""
        with self._lock:
            if tenant_id in self._models:
                return self._models[tenant_id]
        path = self._lookup(tenant_id)
        if path is None or not path.is_file():
            return None
        with self._lock:
            if tenant_id not in self._models:
                self.nlu_files[tenant_id] = path
                self._models[tenant_id] = trained_classifier(load_nlu(path), self.embedder, self.cache_dir, self.config)
            return self._models[tenant_id]

    def forget(self, tenant_id: str) -> None:
        with self._lock:
            self._models.pop(tenant_id, None)
            self.nlu_files.pop(tenant_id, None)

    def describe(self) -> dict[str, object]:
        return {"tenants": sorted(self.nlu_files), "oos_threshold": self.config.oos_threshold}
