"""Tenant administration over HTTP: the same onboarding as ``switchboard tenant`` / ``crm import``.

Roles: the platform ``admin`` (API key mapped to ``*:admin``) creates, lists and deletes any
tenant; a tenant's ``supervisor`` reads and updates its own configuration and imports its
own CRM records. Every change is audited (``tenant.created``/``updated``/``deleted``,
``crm.imported``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Query, UploadFile
from pydantic import BaseModel

from core.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge
from knowledge.crm_records import parse_records
from server.auth import Principal, Role
from server.deps import Admin, ServicesDep, TenantAdmin
from server.tenants import Onboarding, read_config_data

router = APIRouter(prefix="/api/admin/tenants", tags=["admin"])


class TenantPublic(BaseModel):
    id: str
    name: str


class TenantsPublic(BaseModel):
    data: list[TenantPublic]
    count: int


class TenantApplied(BaseModel):
    id: str
    created: bool
    changes: list[str]
    ignored: list[str]


class TenantDeleted(BaseModel):
    id: str
    counts: dict[str, int]


class RecordResultPublic(BaseModel):
    index: int
    id: str | None
    status: str
    error: str = ""


class CrmImportPublic(BaseModel):
    source: str
    created: int
    updated: int
    errors: int
    results: list[RecordResultPublic]


def _own(principal: Principal, tenant_id: str) -> None:
    """Supervisors act on their own tenant only; another tenant is invisible (404)."""
    if principal.role is not Role.admin and principal.tenant_id != tenant_id:
        raise NotFound(f"No tenant {tenant_id!r}")


@router.get("")
def list_tenants(principal: Admin, services: ServicesDep) -> TenantsPublic:
    rows = Onboarding(services).registry.list()
    return TenantsPublic(data=[TenantPublic(id=i, name=n) for i, n in rows], count=len(rows))


@router.get("/{tenant_id}")
def show_tenant(tenant_id: str, principal: TenantAdmin, services: ServicesDep) -> dict[str, Any]:
    _own(principal, tenant_id)
    return Onboarding(services).registry.get(tenant_id).model_dump(mode="json")


@router.put("/{tenant_id}")
def apply_tenant(
    tenant_id: str,
    principal: TenantAdmin,
    services: ServicesDep,
    body: Annotated[dict[str, Any], Body(description="the tenant's configuration (the YAML file's content as JSON)")],
) -> TenantApplied:
    """Create (admin) or update (admin, or the tenant's supervisor) from the JSON body."""
    _own(principal, tenant_id)
    config, ignored = read_config_data(body, f"PUT /api/admin/tenants/{tenant_id}")
    if config.id != tenant_id:
        raise InvalidInput(f"The body's id {config.id!r} does not match the URL's {tenant_id!r}")
    onboarding = Onboarding(services)
    if principal.role is not Role.admin and onboarding.registry.find(tenant_id) is None:
        raise Forbidden("Only a platform admin creates tenants")
    result = onboarding.apply(config, actor=principal.actor)
    return TenantApplied(id=result.tenant_id, created=result.created, changes=result.changes, ignored=ignored)


@router.delete("/{tenant_id}")
def delete_tenant(
    tenant_id: str,
    principal: Admin,
    services: ServicesDep,
    confirm: Annotated[bool, Query(description="must be true: erases everything of the tenant")] = False,
) -> TenantDeleted:
    if not confirm:
        raise InvalidInput("Deleting a tenant erases everything of it; repeat with ?confirm=true")
    return TenantDeleted(id=tenant_id, counts=Onboarding(services).delete(tenant_id, actor=principal.actor))


@router.post("/{tenant_id}/crm")
async def import_crm(
    tenant_id: str,
    principal: TenantAdmin,
    services: ServicesDep,
    files: Annotated[list[UploadFile], File(description="JSON array, JSON Lines or CSV")],
) -> list[CrmImportPublic]:
    """Upsert customer records by id; one report per file, one result per record."""
    _own(principal, tenant_id)
    onboarding = Onboarding(services)
    onboarding.registry.get(tenant_id)
    limit = services.settings.max_crm_file_bytes
    out = []
    for upload in files:
        name = upload.filename or "upload"
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"{name}: over the {limit / 2**20:.0f} MiB limit")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(f"{name}: not UTF-8 text") from None
        records = parse_records(text, name)
        report = onboarding.import_records(tenant_id, records, name, actor=principal.actor)
        out.append(
            CrmImportPublic(
                source=name,
                created=report.created,
                updated=report.updated,
                errors=len(report.errors),
                results=[RecordResultPublic(**r.__dict__) for r in report.results],
            )
        )
    return out
