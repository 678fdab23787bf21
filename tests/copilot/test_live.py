"""Live suggestions over the agent websocket: fast KB suggestions first, grounded replies
after, every event tagged with the customer message it answers; stale work is dropped."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from core.db.conversations import add_message, get_conversation
from core.models.fake import ScriptedChatModel
from core.types import Author
from server.container import Services
from tests.conftest import AGENT
from tests.copilot.helpers import handed_off, say


def _events_until(ws: Any, wanted: set[str]) -> dict[str, dict[str, Any]]:
    got: dict[str, dict[str, Any]] = {}
    for _ in range(50):
        event = json.loads(ws.receive_text())
        if event["type"] in wanted:
            got[event["type"]] = event["data"]
        if wanted <= got.keys():
            return got
    raise AssertionError(f"events {wanted - got.keys()} never arrived")


def test_customer_message_pushes_suggestions_then_replies(client: TestClient) -> None:
    conv = handed_off(client)
    with client.websocket_connect(f"/ws/agent/conversations/{conv}?key=dev-agent-key") as ws:
        assert json.loads(ws.receive_text())["type"] == "hello"
        seq = say(client, conv, "How long do I have to return an item? The order arrived damaged and I'm annoyed.")
        got = _events_until(ws, {"suggestions", "replies"})
    s, r = got["suggestions"], got["replies"]
    assert s["message_seq"] == seq and r["message_seq"] == seq
    assert 1 <= len(s["articles"]) <= 5 and s["article_ids"] == [a["article_id"] for a in s["articles"]]
    assert any("return" in a["article_id"] for a in s["articles"])
    first = s["articles"][0]
    assert (
        first["highlight"] and first["passage"][first["highlight_start"] : first["highlight_end"]] == first["highlight"]
    )
    assert s["facts"]["customer_id"] == "cus_001"
    assert s["sentiment"]["current"] < 0  # "damaged", "annoyed"
    assert s["next_action"]["key"] and s["next_action"]["step"]  # the Larkspur guidelines pack, imported
    assert s["next_action"]["reason"]
    assert 1 <= len(r["replies"]) <= 3
    for reply in r["replies"]:
        assert reply["text"] and reply["citations"]
        assert reply["citations"][0]["article_id"] in {a["article_id"] for a in s["articles"]}
        cited = next(a for a in s["articles"] if a["article_id"] == reply["citations"][0]["article_id"])
        assert cited["visibility"] == "public"  # replies never come from internal articles


def test_suggestions_for_an_older_message_are_dropped(client: TestClient, demo_services: Services) -> None:
    conv = handed_off(client)
    older = say(client, conv, "Where is my parcel?")
    newer = say(client, conv, "Actually, how do I reset my password?")
    job = demo_services.live_assist.submit("larkspur", conv, older)
    assert job.fast.result(timeout=60) is None  # a newer customer message exists
    assert job.replies.result(timeout=60) is None
    fresh = demo_services.live_assist.submit("larkspur", conv, newer)
    result = fresh.fast.result(timeout=60)
    assert result is not None and result.message_seq == newer


def test_replies_are_not_published_when_a_message_arrives_during_generation(
    client: TestClient, demo_services: Services, chat: ScriptedChatModel
) -> None:
    conv = handed_off(client)
    seq = say(client, conv, "How long do I have to return an item?")
    demo_services.live_assist.submit("larkspur", conv, seq).replies.result(timeout=60)
    assert demo_services.live_assist.wait_idle(60)  # the job the message itself started, too

    def customer_writes_meanwhile(prompt: str) -> str:
        with demo_services.store.session("larkspur") as s:
            add_message(s, get_conversation(s, conv), Author.customer, "Hello? Anyone there?")
        return "You can return items within 30 days."

    demo_services.copilot_replies.chat = ScriptedChatModel(customer_writes_meanwhile)
    job = demo_services.live_assist.submit("larkspur", conv, seq)
    assert job.fast.result(timeout=60) is not None
    assert job.replies.result(timeout=60) is None


def test_refresh_button_recomputes_for_the_latest_message(client: TestClient) -> None:
    conv = handed_off(client)
    seq = say(client, conv, "Can I change the delivery address of my order?")
    with client.websocket_connect(f"/ws/agent/conversations/{conv}?key=dev-agent-key") as ws:
        ws.receive_text()
        assert client.post(f"/api/agent/conversations/{conv}/suggestions", headers=AGENT).status_code == 200
        got = _events_until(ws, {"suggestions"})
    assert got["suggestions"]["message_seq"] == seq
    assert got["suggestions"]["next_action"]["key"] == "change_delivery_address"
