"""Two tenants with overlapping article ids, customer ids and order ids: nothing of one
reaches the other through the bot, the copilot, search, CRM facts, the agent API or the
websockets. (The data layer scopes every Store and Index query; this checks the result
from the outside.)"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from core.models.fake import HashingEmbedder, ScriptedChatModel
from core.types import Author, Turn
from knowledge.documents import Document
from server.app import create_app
from server.auth import sign_widget_token
from server.container import Services
from server.demo import load_demo
from tests.conftest import AGENT, TENANT, customer_headers, make_settings, quote_first_source

RIVAL = "rival"
MARK = "RIVALMARK"
RIVAL_SECRET = "rival-site-secret"
RIVAL_AGENT = {"X-API-Key": "rival-agent-key"}


def rival_headers(customer_id: str | None = "cus_001") -> dict[str, str]:
    return {"Authorization": f"Bearer {sign_widget_token(RIVAL_SECRET, RIVAL, customer_id)}"}


@pytest.fixture(scope="module")
def two_tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Services, ScriptedChatModel]]:
    tmp = tmp_path_factory.mktemp("tenants")
    settings = make_settings(tmp)
    settings.api_keys = {**settings.api_keys, "rival-agent-key": f"{RIVAL}:agent"}
    chat = ScriptedChatModel(quote_first_source)
    svc = Services(settings, chat_override=chat, embedder_override=HashingEmbedder())
    load_demo(svc)
    svc.store.ensure_tenant(RIVAL, "Rival", {"site_secret": RIVAL_SECRET})
    report = svc.kb.load_documents(
        RIVAL,
        [
            Document(
                id="returns-policy",  # the same id as Larkspur's article
                title="Returns policy",
                body=f"## How long do I have to return an item\n\n{MARK} items can be returned within 90 days "
                f"of delivery. {MARK} refunds take ten days.",
                url="https://help.rival.example/articles/returns-policy",
            )
        ],
    )
    assert report.ok, report.errors
    crm = tmp / "rival-crm"
    crm.mkdir()
    (crm / "customers.json").write_text(json.dumps([{"id": "cus_001", "name": f"{MARK} Zed"}]))
    (crm / "orders.json").write_text(
        json.dumps([{"id": "ORD-10012", "customer_id": "cus_001", "status": "shipped", "carrier": MARK}])
    )
    (crm / "notes.json").write_text(json.dumps([{"id": "n1", "customer_id": "cus_001", "text": f"{MARK} note"}]))
    svc.crm.import_folder(RIVAL, crm)
    with TestClient(create_app(services=svc)) as client:
        yield client, svc, chat
    svc.close()


def _ask(client: TestClient, headers: dict[str, str], text: str) -> tuple[str, dict[str, object]]:
    conv = client.post("/api/conversations", json={}, headers=headers).json()["id"]
    r = client.post(f"/api/conversations/{conv}/messages", json={"text": text}, headers=headers)
    assert r.status_code == 200, r.text
    return str(conv), r.json()


def test_bot_answers_and_prompts_stay_within_the_tenant(
    two_tenants: tuple[TestClient, Services, ScriptedChatModel],
) -> None:
    client, _, chat = two_tenants
    seen = len(chat.prompts)
    _, larkspur = _ask(client, customer_headers(), "How long do I have to return an item?")
    assert MARK not in json.dumps(larkspur)
    assert all(MARK not in p for p in chat.prompts[seen:])
    seen = len(chat.prompts)
    _, rival = _ask(client, rival_headers(), "How long do I have to return an item?")
    assert all("larkspur" not in c["url"] for r in rival["replies"] for c in r["citations"])  # type: ignore[index]
    assert any(MARK in p for p in chat.prompts[seen:])  # control: the rival's own article is used


def test_copilot_search_and_crm_facts_stay_within_the_tenant(
    two_tenants: tuple[TestClient, Services, ScriptedChatModel],
) -> None:
    client, svc, _ = two_tenants
    mine = client.get("/api/copilot/search", params={"q": "return an item within days"}, headers=AGENT)
    assert mine.status_code == 200 and mine.json()["count"] > 0
    assert MARK not in mine.text
    theirs = client.get("/api/copilot/search", params={"q": "return an item within days"}, headers=RIVAL_AGENT)
    assert MARK in theirs.text and "larkspur" not in theirs.text.lower()
    facts = svc.context.facts(TENANT, "cus_001")
    assert facts is not None and MARK not in facts.model_dump_json()
    rival_facts = svc.context.facts(RIVAL, "cus_001")
    assert rival_facts is not None and rival_facts.name == f"{MARK} Zed"
    turns = [Turn(author=Author.customer, text="Where is my order ORD-10012?")]
    suggestions = svc.copilot.suggest(TENANT, turns, customer_id="cus_001", message_seq=1)
    assert MARK not in suggestions.model_dump_json()


def test_agents_cannot_reach_the_other_tenants_conversations(
    two_tenants: tuple[TestClient, Services, ScriptedChatModel],
) -> None:
    client, _, _ = two_tenants
    rival_conv, _ = _ask(client, rival_headers(), "hello")
    mine_conv, _ = _ask(client, customer_headers(), "hello")
    assert client.get(f"/api/agent/conversations/{rival_conv}", headers=AGENT).status_code == 404
    assert client.post(f"/api/agent/conversations/{rival_conv}/claim", headers=AGENT).status_code == 404
    assert client.get(f"/api/conversations/{mine_conv}", headers=rival_headers()).status_code == 404
    with pytest.raises(WebSocketDisconnect) as closed:
        with client.websocket_connect(f"/ws/agent/conversations/{rival_conv}?key=dev-agent-key") as ws:
            ws.receive_text()
    assert closed.value.code == 4404
    token = rival_headers()["Authorization"].split(" ", 1)[1]
    with pytest.raises(WebSocketDisconnect) as closed:
        with client.websocket_connect(f"/ws/conversations/{mine_conv}?token={token}") as ws:
            ws.receive_text()
    assert closed.value.code == 4404


def test_queue_events_of_one_tenant_never_reach_the_other(
    two_tenants: tuple[TestClient, Services, ScriptedChatModel],
) -> None:
    client, _, _ = two_tenants
    with client.websocket_connect("/ws/agent/queue?key=dev-agent-key") as ws:
        assert json.loads(ws.receive_text())["type"] == "hello"
        rival_conv, rival_turn = _ask(client, rival_headers(), "I want to talk to a person")
        assert rival_turn["handoff"] is not None  # the rival's queue got an event
        mine_conv, mine_turn = _ask(client, customer_headers(), "I want to talk to a person")
        assert mine_turn["handoff"] is not None
        event = json.loads(ws.receive_text())
        # the first event this agent sees is its own tenant's, not the rival's
        assert event["tenant_id"] == TENANT and event["conversation_id"] == mine_conv
    queue = client.get("/api/agent/conversations", headers=AGENT).json()["data"]
    assert rival_conv not in [c["id"] for c in queue]
