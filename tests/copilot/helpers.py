"""Shared steps for copilot tests: a conversation handed to a human, events from the bus."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import AGENT, customer_headers


def handed_off(client: TestClient, customer: str | None = "cus_001") -> str:
    """A conversation the customer asked a human for and an agent claimed."""
    r = client.post("/api/conversations", json={}, headers=customer_headers(customer))
    conv = str(r.json()["id"])
    r = client.post(
        f"/api/conversations/{conv}/messages",
        json={"text": "I want to talk to a person"},
        headers=customer_headers(customer),
    )
    assert r.json()["handoff"], r.text
    assert client.post(f"/api/agent/conversations/{conv}/claim", headers=AGENT).status_code == 200
    return conv


def say(client: TestClient, conv: str, text: str, customer: str | None = "cus_001") -> int:
    r = client.post(f"/api/conversations/{conv}/messages", json={"text": text}, headers=customer_headers(customer))
    assert r.status_code == 200, r.text
    return int(r.json()["message"]["seq"])
