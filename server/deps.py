"""Dependencies as ``Annotated`` aliases, so a route signature reads like a sentence.

Every route declares who may call it with one of the principal aliases below;
``tests/trust/test_route_roles.py`` checks the whole route x role matrix. The guard also
refuses credentials in the query string and, on every route with a ``{conversation_id}``,
answers 404 for a conversation outside the caller's tenant before the route runs
(``tests/trust/test_conversation_scope.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

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


def widget_token(authorization: str | None) -> str | None:
    """The widget token of an ``Authorization: Bearer`` header, or None."""
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def authenticate(
    services: Services,
    authorization: str | None,
    api_key: str | None,
    *,
    config: dict[str, Any] | None = None,
) -> Principal:
    """The caller's principal. ``config``: the widget token's tenant configuration when the
    caller has it already (else it is read: ``Services.access``)."""
    if api_key:
        return principal_for_api_key(api_key, services.settings.api_keys, services.default_tenant)
    token = widget_token(authorization)
    if token is not None:
        tenant = read_widget_token_tenant(token)
        try:  # current first; the previous one during a rotation's overlap
            secrets = services.widget_secrets.verifying(
                tenant, config if config is not None else services.access.config(tenant)
            )
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

    async def __call__(
        self,
        request: Request,
        services: ServicesDep,
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> Principal:
        # ``async``: on the event loop. What it reads from the database (the tenant's sign-in
        # configuration, the conversation's owner) is kept in ``Services.access``; only a miss
        # goes to a thread (a sync guard cost every request a thread hop of its own).
        in_query = [name for name in QUERY_CREDENTIALS if name in request.query_params]
        if in_query:
            raise Forbidden(
                f"Credentials in the URL (?{in_query[0]}=) are accepted on websockets only; send the API key "
                "in the X-API-Key header or the widget token as Authorization: Bearer <token>"
            )
        access = services.access
        config = None
        token = None if x_api_key else widget_token(authorization)
        if token is not None:
            tenant = read_widget_token_tenant(token)
            config = access.config_cached(tenant)
            if config is None:
                config = await run_in_threadpool(access.config, tenant)
        principal = authenticate(services, authorization, x_api_key, config=config)
        if principal.role not in self.roles:
            allowed = ", ".join(sorted(r.value for r in self.roles))
            raise Forbidden(f"This needs one of the roles: {allowed}; you are {principal.role.value}")
        conversation_id = request.path_params.get("conversation_id")
        if conversation_id is not None:
            cid = str(conversation_id)
            owner = access.owner_cached(principal.tenant_id, cid)
            if owner is None:
                owner = await run_in_threadpool(access.owner, principal.tenant_id, cid)
            check_owner(principal, *owner)
        return principal


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
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
