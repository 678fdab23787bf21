"""Per-tenant policy read from ``Tenant.config``: business hours, languages, handoff triggers."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.hours import BusinessHours
from bot.triggers import TriggerConfig
from core.db.schema import Tenant
from core.db.store import Store


@dataclass(frozen=True)
class TenantPolicy:
    name: str = "our"
    hours: BusinessHours = field(default_factory=BusinessHours)
    languages: frozenset[str] = frozenset({"en"})
    triggers: TriggerConfig = field(default_factory=TriggerConfig)

    @classmethod
    def from_config(cls, name: str, config: dict[str, object]) -> TenantPolicy:
        langs = config.get("languages")
        languages = frozenset(str(x) for x in langs) if isinstance(langs, list) and langs else frozenset({"en"})
        return cls(
            name=str(config.get("name") or name),
            hours=BusinessHours.from_config(config),
            languages=languages,
            triggers=TriggerConfig.from_config(config),
        )


def load_policy(store: Store, tenant_id: str) -> TenantPolicy:
    with store.admin_session() as s:
        tenant = s.get(Tenant, tenant_id)
        if tenant is None:
            return TenantPolicy()
        return TenantPolicy.from_config(tenant.name, dict(tenant.config or {}))
