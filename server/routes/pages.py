"""HTML pages (static, no build step) and the development-only demo token."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from bot.tenant import load_policy
from core.errors import Forbidden, NotFound
from server.auth import sign_widget_token
from server.deps import Customer, ServicesDep
from server.schemas import WidgetProfile, WidgetSession
from server.secrets import widget_secrets

STATIC = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(tags=["pages"])


@router.get("/", include_in_schema=False)
def shop_page() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@router.get("/agent", include_in_schema=False)
def agent_console() -> FileResponse:
    return FileResponse(STATIC / "agent.html")


@router.get("/api/demo/session")
def demo_session(services: ServicesDep, customer_id: str | None = None, tenant: str | None = None) -> WidgetSession:
    """Development only: plays the tenant's site and signs a widget token for a demo customer.
    In production the tenant's own site signs the token with its site secret."""
    if services.settings.environment == "production":
        raise NotFound("Not available in production")
    tenant_id = tenant or services.default_tenant
    if services.store.tenant_config(tenant_id) == {}:
        raise NotFound(f"No tenant {tenant_id!r}")
    found = widget_secrets(services.settings, tenant_id, services.store.tenant_config(tenant_id))
    secret = found[0] if found else ""
    if not secret:
        raise Forbidden(f"Tenant {tenant_id!r} has no widget secret configured")
    return WidgetSession(
        token=sign_widget_token(secret, tenant_id, customer_id or None),
        tenant_id=tenant_id,
        customer_id=customer_id or None,
    )


@router.get("/api/widget/profile")
def widget_profile(principal: Customer, services: ServicesDep) -> WidgetProfile:
    """What the widget shows before the first message: the company's name, the bot's name,
    its greeting and languages, from the tenant's configuration."""
    policy = load_policy(services.store, principal.tenant_id)
    greeting = policy.greeting or f"Hi! I'm the {policy.bot_name}." + (
        f" I can help with {policy.scope.rstrip('.')}." if policy.scope else " How can I help you today?"
    )
    return WidgetProfile(
        tenant_id=principal.tenant_id,
        company=policy.name,
        bot_name=policy.bot_name,
        greeting=greeting,
        languages=sorted(policy.languages),
    )
