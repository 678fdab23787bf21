"""Widget tokens carry a maximum lifetime; staff API keys and widget tokens come from
headers on plain HTTP routes (``?key=`` / ``?token=`` only on websockets)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from core.errors import Forbidden
from server.auth import sign_widget_token, verify_widget_token
from server.secrets import derived_secret
from tests.conftest import AGENT, ROOT, TENANT, customer_headers, make_settings

SECRET = derived_secret(make_settings(ROOT / "var"), TENANT)  # the tests' development secret
YEAR_S = 365 * 24 * 3600


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_valid_for_years_is_refused(bare_client: TestClient) -> None:
    token = sign_widget_token(SECRET, TENANT, "cus_001", ttl_s=10 * YEAR_S)
    r = bare_client.post("/api/conversations", json={}, headers=_bearer(token))
    assert r.status_code == 403
    assert "lifetime" in r.json()["error"] and "maximum is 12 hours" in r.json()["error"]


def test_a_token_within_the_lifetime_is_accepted(bare_client: TestClient) -> None:
    token = sign_widget_token(SECRET, TENANT, "cus_001", ttl_s=3600)
    assert bare_client.post("/api/conversations", json={}, headers=_bearer(token)).status_code == 201


def test_lifetime_is_measured_from_issue_to_expiry() -> None:
    now = time.time()
    # issued 11 h ago, expires in 2 h: 13 h in all, over a 12 h maximum
    old = sign_widget_token(SECRET, TENANT, "cus_001", ttl_s=13 * 3600, now=now - 11 * 3600)
    with pytest.raises(Forbidden, match="lifetime"):
        verify_widget_token(old, SECRET, max_lifetime_s=12 * 3600, now=now)
    fine = sign_widget_token(SECRET, TENANT, "cus_001", ttl_s=2 * 3600, now=now - 3600)
    assert verify_widget_token(fine, SECRET, max_lifetime_s=12 * 3600, now=now).customer_id == "cus_001"
    with pytest.raises(Forbidden, match="expired"):
        verify_widget_token(fine, SECRET, now=now + 2 * 3600)
    future = sign_widget_token(SECRET, TENANT, "cus_001", ttl_s=3600, now=now + 3600)
    with pytest.raises(Forbidden, match="future"):
        verify_widget_token(future, SECRET, now=now)


def test_a_legacy_token_without_issue_time_is_judged_by_its_expiry() -> None:
    import base64
    import hashlib
    import hmac
    import json

    claims = {"t": TENANT, "c": "cus_001", "v": "v1", "exp": int(time.time()) + 5 * YEAR_S}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    sig = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).digest()).rstrip(b"=")
    with pytest.raises(Forbidden, match="lifetime"):
        verify_widget_token(f"{payload}.{sig.decode()}", SECRET)


def _hand_signed(claims: dict[str, object]) -> str:
    """A token as a tenant's own site might build it (not through ``sign_widget_token``)."""
    import base64
    import hashlib
    import hmac
    import json

    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    sig = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).digest()).rstrip(b"=")
    return f"{payload}.{sig.decode()}"


@pytest.mark.parametrize(
    "who",
    [
        {"c": 42, "v": "v1"},  # a number: never equal to a stored id (was a 500 on start)
        {"c": "cus_001", "v": ["v1"]},
        {},  # nobody: such tokens would share every conversation they start
        {"c": None, "v": ""},
    ],
)
def test_a_token_whose_customer_or_visitor_is_not_an_id_is_refused(
    bare_client: TestClient, who: dict[str, object]
) -> None:
    now = int(time.time())
    token = _hand_signed({"t": TENANT, "iat": now, "exp": now + 600, **who})
    with pytest.raises(Forbidden, match="Malformed"):
        verify_widget_token(token, SECRET)
    r = bare_client.post("/api/conversations", json={}, headers=_bearer(token))
    assert r.status_code == 403 and "Malformed" in r.json()["error"]


def test_an_empty_customer_id_is_an_anonymous_visitor() -> None:
    now = int(time.time())
    token = _hand_signed({"t": TENANT, "c": "", "v": "v1", "iat": now, "exp": now + 600})
    principal = verify_widget_token(token, SECRET)
    assert principal.customer_id is None and principal.visitor_id == "v1"


def test_the_maximum_is_a_setting() -> None:
    settings = make_settings(ROOT / "var", widget_token_max_lifetime_s=600)
    token = sign_widget_token(SECRET, TENANT, "cus_001", ttl_s=3600)
    with pytest.raises(Forbidden, match="lifetime is 1.0 hours"):
        verify_widget_token(token, SECRET, max_lifetime_s=settings.widget_token_max_lifetime_s)
    assert verify_widget_token(token, SECRET).customer_id == "cus_001"  # the default: 12 hours


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/agent/conversations", "key=dev-agent-key"),
        ("/api/agent/conversations", "api_key=dev-agent-key"),
        ("/api/kb/articles", "key=dev-editor-key"),
    ],
)
def test_api_keys_in_the_query_string_are_refused_on_http_routes(
    bare_client: TestClient, path: str, query: str
) -> None:
    r = bare_client.get(f"{path}?{query}")
    assert r.status_code == 403
    assert "websockets only" in r.json()["error"] and "X-API-Key" in r.json()["error"]


def test_a_query_credential_is_refused_even_beside_a_valid_header(bare_client: TestClient) -> None:
    assert bare_client.get("/api/agent/conversations", headers=AGENT).status_code == 200
    assert bare_client.get("/api/agent/conversations?key=dev-agent-key", headers=AGENT).status_code == 403


def test_widget_tokens_in_the_query_string_are_refused_on_http_routes(bare_client: TestClient) -> None:
    token = customer_headers()["Authorization"].split(" ", 1)[1]
    assert bare_client.post(f"/api/conversations?token={token}", json={}).status_code == 403


def test_websockets_still_take_query_credentials(bare_client: TestClient) -> None:
    with bare_client.websocket_connect("/ws/agent/queue?key=dev-agent-key") as ws:
        assert '"hello"' in ws.receive_text()
