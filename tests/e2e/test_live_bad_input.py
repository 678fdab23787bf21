"""Bad input against the real server over HTTP: a clear 4xx, and nothing stored half-way."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def http(live_server: str) -> httpx.Client:
    with httpx.Client(base_url=live_server, timeout=30) as client:
        token = client.get("/api/demo/session", params={"customer_id": "cus_003"}).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client  # type: ignore[misc]


def _messages(http: httpx.Client, conv: str) -> list[dict[str, object]]:
    r = http.get(f"/api/conversations/{conv}")
    assert r.status_code == 200, r.text
    return list(r.json()["messages"])


def test_bad_messages_get_a_clear_4xx_and_store_nothing(http: httpx.Client) -> None:
    conv = http.post("/api/conversations", json={}).json()["id"]
    url = f"/api/conversations/{conv}/messages"
    cases = [
        ("empty message", http.post(url, json={"text": "   "}), 422, "empty"),
        ("missing text", http.post(url, json={}), 422, "text"),
        ("100 kB message", http.post(url, json={"text": "x" * 100_000}), 413, "limit"),
        ("over the character limit", http.post(url, json={"text": "y" * 5_000}), 413, "limit"),
        ("malformed JSON", http.post(url, content=b'{"text": "hi"', headers={"Content-Type": "application/json"}), 422,
         "JSON"),
        ("wrong content type", http.post(url, content=b"text=hi", headers={"Content-Type": "text/plain"}), 415, "JSON"),
        ("form post", http.post(url, data={"text": "hi"}), 415, "JSON"),
        ("unknown field", http.post(url, json={"text": "hi", "admin": True}), 422, "admin"),
        ("text is not a string", http.post(url, json={"text": ["hi"]}), 422, "text"),
    ]  # fmt: skip
    for name, response, status, needle in cases:
        assert response.status_code == status, (name, response.status_code, response.text)
        body = response.json()
        assert needle.lower() in body["error"].lower(), (name, body)
        assert body["type"], (name, body)
    assert _messages(http, conv) == [], "a refused message must not be stored"


def test_unknown_conversation_is_a_404_with_a_message(http: httpx.Client) -> None:
    for response in (
        http.post("/api/conversations/no-such-conversation/messages", json={"text": "hello"}),
        http.get("/api/conversations/no-such-conversation"),
    ):
        assert response.status_code == 404, response.text
        assert "no-such-conversation" in response.json()["error"]


def test_missing_or_forged_credentials_are_refused(live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as anon:
        r = anon.post("/api/conversations", json={})
        assert r.status_code == 403 and "widget token" in r.json()["error"]
        r = anon.post("/api/conversations", json={}, headers={"Authorization": "Bearer forged.token"})
        assert r.status_code == 403
        r = anon.get("/api/agent/conversations", headers={"X-API-Key": "guess"})
        assert r.status_code == 403 and "API key" in r.json()["error"]
