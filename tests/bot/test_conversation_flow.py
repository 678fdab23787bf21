"""The state machine through the conversation service: streaming, hand-back, restart (clarify: test_clarify.py)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from bot.policy import BotReply
from bot.state import BotMemory
from core.models.fake import HashingEmbedder, ScriptedChatModel
from core.settings import Settings
from server.container import Services
from tests.conftest import AGENT, OPEN_HOURS, customer_headers, quote_first_source


def _start(client: TestClient, customer: str | None = "cus_001") -> str:
    r = client.post("/api/conversations", json={}, headers=customer_headers(customer))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _say(client: TestClient, conv: str, text: str, customer: str | None = "cus_001") -> dict[str, object]:
    r = client.post(f"/api/conversations/{conv}/messages", json={"text": text}, headers=customer_headers(customer))
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_answer_tokens_stream_and_the_answer_is_cited(demo_services: Services) -> None:
    pieces: list[str] = []
    from core.types import Author, Turn

    turns = [Turn(author=Author.customer, text="how much is express shipping?")]
    reply: BotReply = demo_services.bot.respond(
        "larkspur", turns, customer_id=None, memory=BotMemory(), on_token=pieces.append, now=OPEN_HOURS
    )
    assert reply.kind == "answer" and pieces
    citation = reply.citations[0]
    assert citation.title and citation.url.startswith("https://") and citation.version >= 1
    assert reply.grounding is not None and 0 <= reply.grounding <= 1


def test_hand_back_lets_the_bot_see_what_the_agent_said(client: TestClient, demo_services: Services) -> None:
    conv = _start(client, "cus_019")
    assert _say(client, conv, "I want to talk to a person", "cus_019")["handoff"]
    client.post(f"/api/agent/conversations/{conv}/claim", headers=AGENT)
    client.post(
        f"/api/agent/conversations/{conv}/messages",
        json={"text": "I've checked your return: the refund for the backpack was issued today."},
        headers=AGENT,
    )
    r = client.post(f"/api/agent/conversations/{conv}/handback", headers=AGENT)
    assert r.json()["state"] == "bot"
    body = _say(client, conv, "how long does that take?", "cus_019")
    reply = body["replies"][0]  # type: ignore[index]
    assert reply["kind"] == "answer"
    assert any("refund" in c["article_id"] for c in reply["citations"]), "the question was read as being about refunds"
    # Asking for a person again: the brief carries what the agent said before handing back.
    body = _say(client, conv, "can I talk to an agent again please", "cus_019")
    brief = body["handoff"]
    assert brief is not None and "refund for the backpack was issued" in brief["summary"]  # type: ignore[index]


def test_a_restart_loses_nothing(tmp_path: Path) -> None:
    """A write action proposed before a restart is confirmed after it."""
    from server.app import create_app
    from server.demo import load_demo

    def services() -> Services:
        settings = Settings(environment="test", data_dir=tmp_path, chat_backend="fake", embedder_backend="fake")  # type: ignore[call-arg]
        return Services(
            settings,
            chat_override=ScriptedChatModel(quote_first_source),
            embedder_override=HashingEmbedder(),
            clock_override=lambda: OPEN_HOURS,
        )

    first = services()
    load_demo(first)
    with TestClient(create_app(services=first)) as c:
        conv = _start(c, "cus_009")
        body = _say(c, conv, "please cancel my sleeping bag order", "cus_009")
        assert body["conversation"]["state"] == "awaiting_confirmation"  # type: ignore[index]
    first.close()
    second = services()
    with TestClient(create_app(services=second)) as c:
        body = _say(c, conv, "yes", "cus_009")
        assert "cancelled" in body["replies"][0]["text"]  # type: ignore[index]
        assert body["conversation"]["state"] == "bot"  # type: ignore[index]
    second.close()
