"""The walking skeleton end to end, over real HTTP and websockets against the real server:
ask, get a cited answer, ask for a human, the agent sees the handoff, replies, and the
customer receives the reply."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.e2e

AGENT_KEY = "dev-agent-key"
# Outside the demo shop's business hours the same request is handed off as "after_hours"
# (the live server runs on the wall clock).
HUMAN_REQUEST_REASONS = ("explicit_request", "after_hours")
ANSWER_TIMEOUT_S = 90.0


def ws_url(base_url: str, path: str) -> str:
    return base_url.replace("http://", "ws://", 1) + path


def wait_for(
    ws: ClientConnection, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read events until one matches; return it and every event seen on the way."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching event within {timeout}s; saw {[e['type'] for e in seen]}")
        event = json.loads(ws.recv(timeout=remaining))
        seen.append(event)
        if predicate(event):
            return event, seen


def demo_token(http: httpx.Client, customer_id: str = "cus_001") -> str:
    r = http.get("/api/demo/session", params={"customer_id": customer_id})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def test_customer_and_agent_talk_through_the_real_server(live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=ANSWER_TIMEOUT_S) as http:
        token = demo_token(http)
        customer = {"Authorization": f"Bearer {token}"}
        agent = {"X-API-Key": AGENT_KEY}
        r = http.post("/api/conversations", json={}, headers=customer)
        assert r.status_code == 201, r.text
        conv = r.json()["id"]

        with (
            connect(ws_url(live_server, f"/ws/conversations/{conv}?token={token}")) as customer_ws,
            connect(ws_url(live_server, f"/ws/agent/queue?key={AGENT_KEY}")) as queue_ws,
        ):
            assert json.loads(customer_ws.recv(timeout=10))["type"] == "hello"
            assert json.loads(queue_ws.recv(timeout=10))["type"] == "hello"

            # 1. Ask: a cited answer from the returns article, streamed over the websocket.
            r = http.post(
                f"/api/conversations/{conv}/messages",
                json={"text": "How long do I have to return an item?"},
                headers=customer,
            )
            assert r.status_code == 200, r.text
            reply = r.json()["replies"][0]
            assert reply["author"] == "bot" and reply["kind"] == "answer", reply
            assert any("return" in c["article_id"] for c in reply["citations"]), reply["citations"]
            assert "30" in reply["text"], reply["text"]  # the 30-day return window
            pushed, seen = wait_for(
                customer_ws, lambda e: e["type"] == "message" and e["data"]["author"] == "bot", ANSWER_TIMEOUT_S
            )
            assert pushed["data"]["id"] == reply["id"]
            assert pushed["data"]["citations"] == reply["citations"]
            types = [e["type"] for e in seen]
            assert types[0] == "message", types  # the customer's own message, acknowledged first

            # 2. Ask for a human: handoff, and the agents' queue hears about it.
            r = http.post(
                f"/api/conversations/{conv}/messages", json={"text": "I want to talk to a person"}, headers=customer
            )
            assert r.status_code == 200, r.text
            assert r.json()["handoff"]["reason"] in HUMAN_REQUEST_REASONS
            queued, _ = wait_for(queue_ws, lambda e: e["type"] == "queue" and e["conversation_id"] == conv)
            assert queued["data"]["state"] == "handoff_pending"
            state, _ = wait_for(customer_ws, lambda e: e["type"] == "state")
            assert state["data"]["state"] == "handoff_pending"

            # 3. The agent side sees the handoff with its brief.
            listed = http.get("/api/agent/conversations", headers=agent).json()
            assert conv in [c["id"] for c in listed["data"]]
            brief = http.get(f"/api/agent/conversations/{conv}/handoffs", headers=agent).json()[-1]["brief"]
            assert brief["reason"] in HUMAN_REQUEST_REASONS
            assert "talk to a person" in brief["summary"]
            assert brief["customer"]["customer_id"] == "cus_001"
            assert any("return" in c["article_id"] for c in brief["cited"]), brief

            # 4. The agent takes over and replies; the customer receives the reply live.
            with connect(ws_url(live_server, f"/ws/agent/conversations/{conv}?key={AGENT_KEY}")) as agent_ws:
                assert json.loads(agent_ws.recv(timeout=10))["type"] == "hello"
                assert http.post(f"/api/agent/conversations/{conv}/claim", headers=agent).json()["state"] == "human"
                text = "Hi, I'm Sam from Larkspur. You have 30 days from delivery to return it."
                r = http.post(f"/api/agent/conversations/{conv}/messages", json={"text": text}, headers=agent)
                assert r.status_code == 200, r.text
                got, _ = wait_for(customer_ws, lambda e: e["type"] == "message" and e["data"]["author"] == "agent")
                assert got["data"]["text"] == text
                mirrored, _ = wait_for(agent_ws, lambda e: e["type"] == "message" and e["data"]["author"] == "agent")
                assert mirrored["data"]["id"] == got["data"]["id"]

        # The whole exchange is stored in order.
        history = http.get(f"/api/conversations/{conv}", headers=customer).json()
        assert [m["author"] for m in history["messages"]] == ["customer", "bot", "customer", "bot", "agent"]
        assert history["state"] == "human"


def refusal(url: str) -> int:
    """How the server refused a websocket: the HTTP status of a rejected handshake, or the
    close code of an accepted-then-closed socket."""
    try:
        with connect(url) as ws:
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=10)
            return int(ws.close_code or 0)
    except InvalidStatus as exc:
        return int(exc.response.status_code)


def test_sockets_refuse_strangers_and_unknown_conversations(live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as http:
        token = demo_token(http)
        conv = http.post("/api/conversations", json={}, headers={"Authorization": f"Bearer {token}"}).json()["id"]
        other = demo_token(http, "cus_002")
    paths = [
        f"/ws/conversations/{conv}?token=not-a-token",
        f"/ws/conversations/{conv}?token={other}",  # someone else's conversation
        f"/ws/conversations/does-not-exist?token={token}",
        f"/ws/agent/queue?key={token}",  # a widget token is not an API key
        f"/ws/agent/conversations/{conv}?token={token}",  # customers are not agents
        "/ws/agent/queue?key=wrong-key",
    ]
    codes = {path: refusal(ws_url(live_server, path)) for path in paths}
    assert all(code in (403, 4403, 4404) for code in codes.values()), codes
