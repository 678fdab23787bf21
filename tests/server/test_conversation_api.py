"""The HTTP surface of the walking skeleton, with fake models."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.db.schema import Message
from server.container import Services
from tests.conftest import AGENT, customer_headers


def _start(client: TestClient, customer: str | None = "cus_001") -> str:
    r = client.post("/api/conversations", json={}, headers=customer_headers(customer))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _message_count(services: Services) -> int:
    with services.store.session("larkspur") as s:
        return int(s.scalar(select(func.count()).select_from(Message)) or 0)


def test_ask_gets_a_cited_answer(client: TestClient) -> None:
    conv = _start(client)
    r = client.post(
        f"/api/conversations/{conv}/messages",
        json={"text": "How long do I have to return an item?"},
        headers=customer_headers(),
    )
    assert r.status_code == 200, r.text
    reply = r.json()["replies"][0]
    assert reply["author"] == "bot"
    assert reply["citations"], reply
    assert any("return" in c["article_id"] for c in reply["citations"])


def test_asking_for_a_human_hands_off_and_agent_sees_it(client: TestClient) -> None:
    conv = _start(client)
    r = client.post(
        f"/api/conversations/{conv}/messages", json={"text": "I want to talk to a person"}, headers=customer_headers()
    )
    assert r.status_code == 200
    assert r.json()["handoff"]["reason"] == "explicit_request"
    queue = client.get("/api/agent/conversations", headers=AGENT).json()
    assert conv in [c["id"] for c in queue["data"]]
    brief = client.get(f"/api/agent/conversations/{conv}/handoffs", headers=AGENT).json()[0]["brief"]
    assert "talk to a person" in brief["summary"]
    assert brief["customer"]["customer_id"] == "cus_001"


def test_agent_reply_reaches_the_conversation_and_bot_stays_silent(client: TestClient) -> None:
    conv = _start(client)
    client.post(f"/api/conversations/{conv}/messages", json={"text": "human please"}, headers=customer_headers())
    assert client.post(f"/api/agent/conversations/{conv}/claim", headers=AGENT).json()["state"] == "human"
    r = client.post(f"/api/agent/conversations/{conv}/messages", json={"text": "Hi, I'm Sam."}, headers=AGENT)
    assert r.status_code == 200
    r = client.post(f"/api/conversations/{conv}/messages", json={"text": "thanks Sam"}, headers=customer_headers())
    assert r.json()["replies"] == []  # human-owned: the bot stays silent
    history = client.get(f"/api/conversations/{conv}", headers=customer_headers()).json()
    assert [m["author"] for m in history["messages"]][-2:] == ["agent", "customer"]


def test_hand_back_returns_the_conversation_to_the_bot(client: TestClient) -> None:
    conv = _start(client)
    client.post(f"/api/conversations/{conv}/messages", json={"text": "agent please"}, headers=customer_headers())
    client.post(f"/api/agent/conversations/{conv}/claim", headers=AGENT)
    assert client.post(f"/api/agent/conversations/{conv}/handback", headers=AGENT).json()["state"] == "bot"
    r = client.post(
        f"/api/conversations/{conv}/messages", json={"text": "how do I track my parcel?"}, headers=customer_headers()
    )
    assert r.json()["replies"], "the bot answers again after hand-back"


def test_bad_input_gets_a_clear_4xx_and_stores_nothing(client: TestClient, demo_services: Services) -> None:
    conv = _start(client)
    before = _message_count(demo_services)
    url = f"/api/conversations/{conv}/messages"
    h = customer_headers()
    cases = [
        (client.post(url, json={"text": "   "}, headers=h), 422, "empty"),
        (client.post(url, json={"text": "x" * 100_000}, headers=h), 413, "limit"),
        (client.post("/api/conversations/nope/messages", json={"text": "hi"}, headers=h), 404, "nope"),
        (client.post(url, content=b"{not json", headers={**h, "content-type": "application/json"}), 422, "JSON"),
        (client.post(url, content=b"text=hi", headers={**h, "content-type": "text/plain"}), 415, "JSON"),
        (client.post(url, json={"text": "hi", "extra": 1}, headers=h), 422, "extra"),
    ]
    for response, status, needle in cases:
        assert response.status_code == status, response.text
        assert needle.lower() in response.json()["error"].lower(), response.json()
    assert _message_count(demo_services) == before


def test_customers_cannot_read_each_others_conversations(client: TestClient) -> None:
    conv = _start(client, "cus_001")
    r = client.get(f"/api/conversations/{conv}", headers=customer_headers("cus_002"))
    assert r.status_code == 403
    anon = client.post("/api/conversations", json={}, headers=customer_headers(None, visitor_id="v1")).json()["id"]
    assert client.get(f"/api/conversations/{anon}", headers=customer_headers(None, visitor_id="v2")).status_code == 403
    assert client.get(f"/api/conversations/{anon}", headers=customer_headers(None, visitor_id="v1")).status_code == 200


def test_wrong_role_and_missing_credentials_are_refused(client: TestClient) -> None:
    assert client.get("/api/agent/conversations").status_code == 403
    assert client.get("/api/agent/conversations", headers=customer_headers()).status_code == 403
    assert client.post("/api/conversations", json={}, headers=AGENT).status_code == 403
    assert client.get("/api/agent/conversations", headers={"X-API-Key": "wrong"}).status_code == 403


def test_tampered_widget_token_is_refused(client: TestClient) -> None:
    token = customer_headers()["Authorization"]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.post("/api/conversations", json={}, headers={"Authorization": tampered}).status_code == 403


def test_websocket_streams_the_answer_and_agent_events(client: TestClient) -> None:
    conv = _start(client)
    token = customer_headers()["Authorization"].split(" ", 1)[1]
    with client.websocket_connect(f"/ws/conversations/{conv}?token={token}") as ws:
        assert ws.receive_json()["type"] == "hello"
        client.post(
            f"/api/conversations/{conv}/messages", json={"text": "what does shipping cost?"}, headers=customer_headers()
        )
        types = []
        for _ in range(200):
            event = ws.receive_json()
            types.append(event["type"])
            if event["type"] == "message" and event["data"]["author"] == "bot":
                break
        assert "message" in types
