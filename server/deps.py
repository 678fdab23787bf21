"""Dependencies as ``Annotated`` aliases, so a route signature reads like a sentence.

Every route declares who may call it with one of the principal aliases below;
``tests/server/test_route_roles.py`` checks the whole route x role matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Query, Request

from core.errors import Forbidden
from server.auth import (
    Principal,
    Role,
    principal_for_api_key,
    read_widget_token_tenant,
    verify_widget_token,
)
from server.container import Services
from server.secrets import widget_secrets
from server.service import ConversationService


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]


def get_conversations(services: ServicesDep) -> ConversationService:
    return ConversationService(services)


ConversationsDep = Annotated[ConversationService, Depends(get_conversations)]


def authenticate(
    services: Services,
    authorization: str | None,
    api_key: str | None,
) -> Principal:
    if api_key:
        return principal_for_api_key(api_key, services.settings.api_keys, services.default_tenant)
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
        tenant = read_widget_token_tenant(token)
        secrets = widget_secrets(services.settings, tenant, services.store.tenant_config(tenant))
        if not secrets:
            raise Forbidden(f"Tenant {tenant!r} has no widget secret configured")
        failure: Forbidden | None = None
        for secret in secrets:  # current first; the previous one during a rotation
            try:
                return verify_widget_token(token, secret)
            except Forbidden as exc:
                failure = exc
        assert failure is not None
        raise failure
    raise Forbidden("Sign in: send a widget token (Authorization: Bearer …) or an API key (X-API-Key)")


class RoleGuard:
    """A dependency that admits the given roles only. ``roles`` is read by the matrix test."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def __call__(
        self,
        services: ServicesDep,
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
        token: Annotated[str | None, Query(description="widget token (websockets only)")] = None,
        key: Annotated[str | None, Query(description="API key (websockets only)")] = None,
    ) -> Principal:
        principal = authenticate(services, authorization or (f"Bearer {token}" if token else None), x_api_key or key)
        if principal.role not in self.roles:
            allowed = ", ".join(sorted(r.value for r in self.roles))
            raise Forbidden(f"This needs one of the roles: {allowed}; you are {principal.role.value}")
        return principal


def require(*roles: Role) -> Callable[..., Principal]:
    return RoleGuard(*roles)


STAFF = (Role.agent, Role.supervisor)

Customer = Annotated[Principal, Depends(require(Role.customer))]
Agent = Annotated[Principal, Depends(require(*STAFF))]
Editor = Annotated[Principal, Depends(require(Role.editor, Role.supervisor))]
Supervisor = Annotated[Principal, Depends(require(Role.supervisor))]
Evaluator = Annotated[Principal, Depends(require(Role.evaluator, Role.supervisor))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
TenantAdmin = Annotated[Principal, Depends(require(Role.admin, Role.supervisor))]
CustomerOrAgent = Annotated[Principal, Depends(require(Role.customer, *STAFF))]
