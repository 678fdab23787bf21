"""Per-tenant intent classifiers, trained lazily from each tenant's Rasa ``nlu.yml`` and cached on disk."""

from __future__ import annotations

import threading
from pathlib import Path

from bot.intents import IntentClassifier, IntentConfig, trained_classifier
from bot.nlu import load_nlu
from core.models.embed import Embedder


class IntentCatalog:
    def __init__(
        self,
        embedder: Embedder,
        nlu_files: dict[str, Path],
        cache_dir: Path | None,
        config: IntentConfig | None = None,
    ) -> None:
        self.embedder = embedder
        self.nlu_files = dict(nlu_files)
        self.cache_dir = cache_dir
        self.config = config or IntentConfig()
        self._models: dict[str, IntentClassifier] = {}
        self._lock = threading.Lock()

    def for_tenant(self, tenant_id: str) -> IntentClassifier | None:
        """The tenant's classifier, or None when the tenant has no NLU file (KB answers only)."""
        path = self.nlu_files.get(tenant_id)
        if path is None or not path.is_file():
            return None
        with self._lock:
            if tenant_id not in self._models:
                self._models[tenant_id] = trained_classifier(load_nlu(path), self.embedder, self.cache_dir, self.config)
            return self._models[tenant_id]

    def describe(self) -> dict[str, object]:
        return {"tenants": sorted(self.nlu_files), "oos_threshold": self.config.oos_threshold}
