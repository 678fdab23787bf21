"""Dependencies as ``Annotated`` aliases, so a route signature reads like a sentence.

Every route declares who may call it with one of the principal aliases below;
``tests/trust/test_route_roles.py`` checks the whole route x role matrix. The guard also
refuses credentials in the query string and, on every route with a ``{conversation_id}``,
answers 404 for a conversation outside the caller's tenant before the route runs
(``tests/trust/test_conversation_scope.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from core.db.conversations import conversation_owner
from core.errors import ConfigurationError, Forbidden
from server.auth import (
    Principal,
    Role,
    principal_for_api_key,
    read_widget_token_tenant,
    verify_widget_token,
)
from server.container import Services
from server.service import ConversationService, check_owner

log = logging.getLogger("switchboard.auth")


# The two below only look something up: ``async`` so FastAPI runs them on the event loop
# instead of sending each request through the thread pool twice more.
async def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_conversations(services: ServicesDep) -> ConversationService:
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
        try:  # current first; the previous one during a rotation's overlap
            secrets = services.widget_secrets.verifying(tenant, services.store.tenant_config(tenant))
        except ConfigurationError as exc:
            log.warning("widget sign-in refused: %s", exc)  # the operator's message; the caller gets a short one
            raise Forbidden(f"Widget sign-in is not configured for tenant {tenant[:64]!r}") from None
        return verify_widget_token(token, secrets, max_lifetime_s=services.settings.widget_token_max_lifetime_s)
    raise Forbidden("Sign in: send a widget token (Authorization: Bearer …) or an API key (X-API-Key)")


# Credentials in a URL end up in access logs, proxies and browser history: plain HTTP
# routes take them from headers only. Websockets cannot send headers from a browser, so
# they take ``?token=`` / ``?key=`` (server/routes/ws.py; the access log masks them).
QUERY_CREDENTIALS = ("key", "token", "api_key")


class RoleGuard:
    """A dependency that admits the given roles only. ``roles`` is read by the matrix test.

    Credentials come from the ``Authorization: Bearer <widget token>`` or ``X-API-Key``
    header; a request that carries one in the query string (``?key=``, ``?token=``,
    ``?api_key=``) is refused with 403 before anything else happens."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def __call__(
        self,
        request: Request,
        services: ServicesDep,
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> Principal:
        in_query = [name for name in QUERY_CREDENTIALS if name in request.query_params]
        if in_query:
            raise Forbidden(
                f"Credentials in the URL (?{in_query[0]}=) are accepted on websockets only; send the API key "
                "in the X-API-Key header or the widget token as Authorization: Bearer <token>"
            )
        principal = authenticate(services, authorization, x_api_key)
        if principal.role not in self.roles:
            allowed = ", ".join(sorted(r.value for r in self.roles))
            raise Forbidden(f"This needs one of the roles: {allowed}; you are {principal.role.value}")
        conversation_id = request.path_params.get("conversation_id")
        if conversation_id is not None:
            ensure_conversation(services, principal, str(conversation_id))
        return principal


def ensure_conversation(services: Services, principal: Principal, conversation_id: str) -> None:
    """Every conversation-scoped route (a ``{conversation_id}`` in its path) passes here
    before it does anything: 404 when the id is not a conversation of the caller's tenant
    (the query filters by tenant), 403 when a customer asks for someone else's. One read of
    two columns, without an ORM session (this runs on every such request)."""
    with services.store.reading() as conn:
        customer_id, visitor_id = conversation_owner(conn, principal.tenant_id, conversation_id)
    check_owner(principal, customer_id, visitor_id)


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
