"""The whole route x role matrix: every route declares who may call it (a ``RoleGuard``
from ``server/deps.py``) or is a public page; every role that is not admitted gets 403
(websockets: close code 4403). A new route without a guard fails this test."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from server.app import ROUTERS
from server.auth import Role
from server.deps import STAFF, RoleGuard
from tests.conftest import ADMIN, AGENT, EDITOR, EVALUATOR, SUPERVISOR, customer_headers

# Public on purpose: HTML shells (their data comes from guarded APIs), health, dev-only token.
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/api/demo/session")}
# Websockets check roles in server/routes/ws.py (query-string credentials).
WEBSOCKET_ROLES: dict[str, frozenset[Role]] = {
    "/ws/conversations/{conversation_id}": frozenset({Role.customer}),
    "/ws/agent/conversations/{conversation_id}": frozenset(STAFF),
    "/ws/agent/queue": frozenset(STAFF),
}


def _headers(role: Role) -> dict[str, str]:
    return {
        Role.customer: customer_headers(),
        Role.agent: AGENT,
        Role.editor: EDITOR,
        Role.supervisor: SUPERVISOR,
        Role.evaluator: EVALUATOR,
        Role.admin: ADMIN,
    }[role]


def _ws_query(role: Role) -> str:
    if role is Role.customer:
        return "token=" + customer_headers()["Authorization"].split(" ", 1)[1]
    return "key=" + _headers(role)["X-API-Key"]


def _guards(route: APIRoute) -> list[RoleGuard]:
    found: list[RoleGuard] = []
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, RoleGuard):
            found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def _is_page(route: APIRoute) -> bool:
    return not route.include_in_schema and route.endpoint.__annotations__.get("return") in ("FileResponse",)


def http_routes() -> Iterator[tuple[str, APIRoute]]:
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for method in sorted(route.methods):
                    yield method, route


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x0", path)


def test_every_route_declares_who_may_call_it() -> None:
    undeclared = [
        f"{method} {route.path}"
        for method, route in http_routes()
        if not _guards(route) and (method, route.path) not in PUBLIC and not _is_page(route)
    ]
    assert undeclared == [], "add a role alias from server/deps.py to these routes (or list them as public)"
    sockets = {r.path for router in ROUTERS for r in router.routes if isinstance(r, APIWebSocketRoute)}
    assert sockets == set(WEBSOCKET_ROLES), "declare the roles of new websockets in WEBSOCKET_ROLES"


MATRIX = [
    pytest.param(method, route.path, role, id=f"{method} {route.path} as {role.value}")
    for method, route in http_routes()
    for guard in _guards(route)[:1]
    for role in Role
    if role not in guard.roles
]


@pytest.mark.parametrize(("method", "path", "role"), MATRIX)
def test_roles_not_admitted_get_403(bare_client: TestClient, method: str, path: str, role: Role) -> None:
    kwargs: dict[str, object] = {"headers": _headers(role)}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    r = bare_client.request(method, _fill(path), **kwargs)  # type: ignore[arg-type]
    assert r.status_code == 403, f"{method} {path} as {role.value}: {r.status_code} {r.text[:200]}"


def test_no_credentials_get_403_everywhere(bare_client: TestClient) -> None:
    for method, route in http_routes():
        if _guards(route):
            r = bare_client.request(method, _fill(route.path), json={} if method != "GET" else None)
            assert r.status_code == 403, f"{method} {route.path}: {r.status_code}"


@pytest.mark.parametrize(
    ("path", "role"),
    [
        pytest.param(path, role, id=f"{path} as {role.value}")
        for path, roles in WEBSOCKET_ROLES.items()
        for role in Role
        if role not in roles
    ],
)
def test_websockets_refuse_roles_not_admitted(bare_client: TestClient, path: str, role: Role) -> None:
    with pytest.raises(WebSocketDisconnect) as closed:
        with bare_client.websocket_connect(f"{_fill(path)}?{_ws_query(role)}") as ws:
            ws.receive_text()
    assert closed.value.code == 4403
