"""What the copilot reads from a tenant's configuration (``core.tenancy``): the company's
name, how many articles to suggest, and the hosts a suggested reply may link to. Read
through ``TenantRegistry.find`` and kept for ``ttl_s`` seconds, so ``tenant apply`` takes
effect without a restart."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core.db.schema import Tenant
from core.db.store import Store
from core.output_filter import allowed_hosts_for
from core.tenancy.config import TenantConfig
from core.tenancy.registry import TenantRegistry

__all__ = ["TenantSettings"]


@dataclass
class TenantSettings:
    store: Store
    ttl_s: float = 30.0
    _cache: dict[str, tuple[float, TenantConfig | None, str]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _entry(self, tenant_id: str) -> tuple[TenantConfig | None, str]:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(tenant_id)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1], hit[2]
        config = TenantRegistry(self.store).find(tenant_id)
        name = config.name if config is not None else ""
        if not name:
            with self.store.admin_session() as s:
                row = s.get(Tenant, tenant_id)
                name = row.name if row is not None else ""
        with self._lock:
            self._cache[tenant_id] = (now, config, name)
        return config, name

    def config(self, tenant_id: str) -> TenantConfig | None:
        return self._entry(tenant_id)[0]

    def company(self, tenant_id: str) -> str:
        return self._entry(tenant_id)[1]

    def article_count(self, tenant_id: str) -> int | None:
        config = self.config(tenant_id)
        return config.copilot.suggest_articles if config is not None else None

    def allowed_hosts(self, tenant_id: str, urls: list[str] | None = None) -> frozenset[str]:
        """The tenant's ``allowed_link_hosts``, its help center and website, and the hosts of
        ``urls`` (the cited articles' own links), with their parent domains."""
        config = self.config(tenant_id)
        own = [config.help_center_url, config.website] if config is not None else []
        hosts = set(allowed_hosts_for({}, [u for u in [*own, *(urls or [])] if u]))
        if config is not None:
            hosts |= {h.lower() for h in config.allowed_link_hosts}
        return frozenset(h for h in hosts if h and (urlsplit(f"//{h}").hostname or ""))

    def forget(self, tenant_id: str) -> None:
        with self._lock:
            self._cache.pop(tenant_id, None)
