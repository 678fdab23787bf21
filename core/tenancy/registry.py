"""Tenants in the Store: apply a configuration (create or update, reporting what changed),
read one back, list them. Deleting a tenant erases its content too, so it lives in ``server``
(it needs the index)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.db.schema import AuditEntry, Tenant
from core.db.store import Store
from core.errors import NotFound
from core.tenancy.config import TenantConfig
from core.tenancy.load import TenantConfigError, parse_tenant_config

__all__ = ["ApplyResult", "TenantRegistry", "diff_config"]


@dataclass
class ApplyResult:
    tenant_id: str
    created: bool
    changes: list[str] = field(default_factory=list)  # "field: old -> new" lines, dotted paths


def diff_config(old: Any, new: Any, path: str = "") -> list[str]:
    """Dotted-path differences between two JSON-like values (secrets are never values here)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append(f"{sub}: added")
            elif key not in new:
                out.append(f"{sub}: removed")
            else:
                out.extend(diff_config(old[key], new[key], sub))
        return out
    if old != new:
        shown = [v if isinstance(v, str | int | float | bool) or v is None else "…" for v in (old, new)]
        return [f"{path or '(config)'}: {shown[0]!r} -> {shown[1]!r}"]
    return []


class TenantRegistry:
    def __init__(self, store: Store) -> None:
        self.store = store

    def apply(self, config: TenantConfig, *, source: Path | None = None, actor: str = "cli") -> ApplyResult:
        """Create or update the tenant in one transaction; audited with the changed fields."""
        stored = config.stored(source)
        with self.store.admin_session() as s:
            row = s.get(Tenant, config.id)
            created = row is None
            if row is None:
                changes = ["(new tenant)"]
                s.add(Tenant(id=config.id, name=config.name, config=stored))
            else:
                changes = diff_config({"name": row.name, **dict(row.config or {})}, {"name": config.name, **stored})
                row.name = config.name
                row.config = stored
            s.add(
                AuditEntry(
                    tenant_id=config.id,
                    actor=actor,
                    action="tenant.created" if created else "tenant.updated",
                    target=config.id,
                    detail={"changes": changes[:200], "source": str(source) if source else ""},
                )
            )
        return ApplyResult(config.id, created, changes)

    def get(self, tenant_id: str) -> TenantConfig:
        """The tenant's typed configuration. Raises ``NotFound``; a stored configuration
        that no longer validates raises ``TenantConfigError``."""
        with self.store.admin_session() as s:
            row = s.get(Tenant, tenant_id)
            if row is None:
                raise NotFound(f"No tenant {tenant_id!r}; create it with `switchboard tenant apply FILE`")
            data = dict(row.config or {})
        data.setdefault("id", tenant_id)
        return parse_tenant_config(data, f"tenant {tenant_id!r} (stored)")

    def find(self, tenant_id: str) -> TenantConfig | None:
        """Like ``get`` but None for an unknown tenant or a legacy (untyped) configuration."""
        try:
            return self.get(tenant_id)
        except (NotFound, TenantConfigError):
            return None

    def list(self) -> list[tuple[str, str]]:
        with self.store.admin_session() as s:
            return [(t.id, t.name) for t in s.scalars(select(Tenant).order_by(Tenant.id))]
