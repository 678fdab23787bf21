"""Every conversation-scoped route (a ``{conversation_id}`` in its path) answers 404 for
another tenant's conversation id, before it does anything: no data, no side effect (no
copilot job, no feedback row, no CSAT). Walks every route of ``server.app.ROUTERS`` so a
new route is covered without editing this test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from core.db.schema import Feedback
from core.models.fake import HashingEmbedder, ScriptedChatModel
from server.app import ROUTERS, create_app
from server.auth import Role, sign_widget_token
from server.container import Services
from server.deps import RoleGuard
from tests.conftest import AGENT, EDITOR, EVALUATOR, SUPERVISOR, TENANT, customer_headers, make_settings

RIVAL = "rival"
RIVAL_SECRET = "rival-site-secret-for-tests-0123456789"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Services, str, str]]:
    svc = Services(
        make_settings(tmp_path_factory.mktemp("scope")),
        chat_override=ScriptedChatModel(lambda prompt: "I don't know."),
        embedder_override=HashingEmbedder(),
    )
    svc.store.ensure_tenant(TENANT, "Larkspur", {})
    svc.store.ensure_tenant(RIVAL, "Rival", {"site_secret": RIVAL_SECRET})
    with TestClient(create_app(services=svc)) as client:
        rival = {"Authorization": f"Bearer {sign_widget_token(RIVAL_SECRET, RIVAL, 'cus_001')}"}
        rival_conv = client.post("/api/conversations", json={}, headers=rival).json()["id"]
        mine_conv = client.post("/api/conversations", json={}, headers=customer_headers()).json()["id"]
        yield client, svc, rival_conv, mine_conv
    svc.close()


def _admitted(route: APIRoute) -> frozenset[Role]:
    roles: set[Role] = set()
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, RoleGuard):
            roles |= dep.call.roles
        stack.extend(dep.dependencies)
    return frozenset(roles)


def _headers(role: Role) -> dict[str, str]:
    return {
        Role.customer: customer_headers(),
        Role.agent: AGENT,
        Role.supervisor: SUPERVISOR,
        Role.editor: EDITOR,
        Role.evaluator: EVALUATOR,
    }[role]


def conversation_routes() -> Iterator[tuple[str, APIRoute]]:
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute) and "{conversation_id}" in route.path:
                for method in sorted(route.methods):
                    yield method, route


def test_there_are_conversation_routes_to_check() -> None:
    assert len(list(conversation_routes())) >= 10


@pytest.mark.parametrize(
    ("method", "route"), list(conversation_routes()), ids=[f"{m} {r.path}" for m, r in conversation_routes()]
)
def test_another_tenants_conversation_is_not_found(
    setup: tuple[TestClient, Services, str, str], method: str, route: APIRoute
) -> None:
    client, svc, rival_conv, _ = setup
    roles = _admitted(route)
    assert roles, f"{route.path} has no role guard"
    path = re.sub(r"\{[^}]+\}", "x0", route.path.replace("{conversation_id}", rival_conv))
    with svc.store.session(RIVAL) as s:
        feedback_before = s.query(Feedback).count()
    for role in sorted(roles - {Role.admin}, key=lambda r: r.value):
        # a body that would be valid for most routes: the 404 must come before validation anyway
        r = client.request(method, path, headers=_headers(role), json={"text": "hello", "items": []})
        assert r.status_code == 404, f"{role.value}: {method} {route.path} -> {r.status_code} {r.text[:200]}"
        assert "No conversation" in r.json()["error"]
    with svc.store.session(RIVAL) as s:
        assert s.query(Feedback).count() == feedback_before


def test_own_conversation_routes_still_work(setup: tuple[TestClient, Services, str, str]) -> None:
    client, _, _, mine_conv = setup
    assert client.get(f"/api/conversations/{mine_conv}", headers=customer_headers()).status_code == 200
    assert client.get(f"/api/agent/conversations/{mine_conv}", headers=AGENT).status_code == 200
    assert client.post(f"/api/agent/conversations/{mine_conv}/suggestions", headers=AGENT).status_code == 200


def test_another_customers_conversation_in_the_same_tenant_is_forbidden(
    setup: tuple[TestClient, Services, str, str],
) -> None:
    client, _, _, mine_conv = setup
    other = customer_headers("cus_002")
    assert client.get(f"/api/conversations/{mine_conv}", headers=other).status_code == 403
    posted = client.post(f"/api/conversations/{mine_conv}/messages", json={"text": "hi"}, headers=other)
    assert posted.status_code == 403


# Past the guard, a body is validated before the route reads the conversation: send valid ones.
VALID_BODIES: dict[str, object] = {
    "/messages": {"text": "hello"},
    "/rewrite": {"text": "hello", "tone": "concise"},
    "/feedback": {"items": [{"suggestion_id": "s1", "kind": "article", "event": "shown"}]},
    "/csat": {"rating": 5},
}


def test_a_conversation_erased_after_the_guard_kept_its_owner_is_not_found(tmp_path: Path) -> None:
    """The role guard keeps a conversation's owner in memory (server/access.py), so after an
    erasure (here or through another worker) it still lets the owner and staff through:
    every conversation route must then read the conversation itself and answer 404,
    without doing anything (no copilot job for a conversation that is gone)."""
    svc = Services(
        make_settings(tmp_path),
        chat_override=ScriptedChatModel(lambda prompt: "I don't know."),
        embedder_override=HashingEmbedder(),
    )
    svc.store.ensure_tenant(TENANT, "Larkspur", {})
    with TestClient(create_app(services=svc)) as client:
        conv = client.post("/api/conversations", json={}, headers=customer_headers()).json()["id"]
        posted = client.post(f"/api/conversations/{conv}/messages", json={"text": "hello"}, headers=customer_headers())
        assert posted.status_code in (200, 202)
        assert svc.live_assist.wait_idle()
        assert client.get(f"/api/agent/conversations/{conv}", headers=AGENT).status_code == 200
        assert client.delete("/api/admin/customers/cus_001", headers=SUPERVISOR).status_code == 200
        assert svc.access.owner_cached(TENANT, conv) is not None  # the guard still lets them through
        submitted = []
        svc.live_assist.submit = lambda *a, **k: submitted.append(a)  # type: ignore[method-assign]
        for method, route in conversation_routes():
            path = re.sub(r"\{[^}]+\}", "x0", route.path.replace("{conversation_id}", conv))
            for role in sorted(_admitted(route) - {Role.admin}, key=lambda r: r.value):
                body = next((b for end, b in VALID_BODIES.items() if route.path.endswith(end)), None)
                r = client.request(method, path, headers=_headers(role), json=body)
                assert r.status_code == 404, f"{role.value}: {method} {route.path} -> {r.status_code} {r.text[:200]}"
        assert submitted == []
        with svc.store.session(TENANT) as s:
            assert s.query(Feedback).count() == 0
    svc.close()
