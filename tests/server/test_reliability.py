"""Reliability of the conversation API (issue 16, and the takeover race of issue 13), with the
shipped fake models on SQLite: what a customer, an agent or an operator would notice."""

from __future__ import annotations

import base64
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.db.schema import Conversation, Message
from core.events import Event
from core.models.fake import HashingEmbedder, ScriptedChatModel
from core.settings import Settings
from knowledge.documents import Document
from knowledge.index.base import Filters
from server.app import create_app
from server.auth import Principal, Role
from server.container import Services
from server.demo import load_demo
from server.service import ConversationService
from server.sweeper import sweep
from tests.conftest import AGENT, OPEN_HOURS, TENANT, customer_headers, make_settings, quote_first_source

QUESTION = "How long do I have to return an item?"


class RecordingBus:
    """The real in-process bus, plus a log of every event published."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.events: list[tuple[str, Event]] = []

    def publish(self, topic: str, event: Event) -> None:
        self.events.append((topic, event))
        self.inner.publish(topic, event)

    def publish_many(self, topics: Sequence[str], event: Event) -> None:
        for topic in topics:
            self.publish(topic, event)

    def subscribe(self, topic: str) -> Any:
        return self.inner.subscribe(topic)

    def close(self) -> None:
        self.inner.close()


class FailingBus(RecordingBus):
    """Redis is down: every publish raises."""

    def publish(self, topic: str, event: Event) -> None:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


class PausingBot:
    """The real bot, paused mid-generation (after a first token) until ``go_on`` is set; it
    then streams one more token, as a model still generating would."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.generating = threading.Event()
        self.go_on = threading.Event()

    def respond(self, *args: Any, on_token: Any = None, **kwargs: Any) -> Any:
        if on_token is not None:
            on_token("Let me ")
        self.generating.set()
        assert self.go_on.wait(10)
        if on_token is not None:
            on_token("check that for you. ")
        return self.inner.respond(*args, on_token=on_token, **kwargs)


class FlakyBot:
    """The real bot, failing the first ``failures`` turns with an unexpected error."""

    def __init__(self, inner: Any, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    def respond(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("the model returned something unparseable")
        return self.inner.respond(*args, **kwargs)


def _start(client: TestClient) -> str:
    r = client.post("/api/conversations", json={}, headers=customer_headers())
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _messages(services: Services, conv: str) -> list[Message]:
    with services.store.session(TENANT) as s:
        return list(s.scalars(select(Message).where(Message.conversation_id == conv).order_by(Message.seq)))


def _state(services: Services, conv: str) -> str:
    with services.store.session(TENANT) as s:
        return str(s.scalar(select(Conversation.state).where(Conversation.id == conv)))


def _swap(services: Services, name: str, value: object) -> None:
    services.__dict__[name] = value  # a cached component of the container


@pytest.fixture
def busy_services(tmp_path: Path) -> Iterator[Services]:
    """Demo services whose rate limits do not get in the way of concurrency tests."""
    settings = make_settings(tmp_path, messages_per_minute_per_session=1000, messages_per_minute_per_tenant=10000)
    svc = Services(
        settings,
        chat_override=ScriptedChatModel(quote_first_source),
        embedder_override=HashingEmbedder(),
        clock_override=lambda: OPEN_HOURS,
    )
    load_demo(svc)
    yield svc
    svc.close()


# -- takeover is final (issue 13) --------------------------------------------------------------


def test_a_claim_during_generation_leaves_no_bot_message_and_state_human(
    client: TestClient, demo_services: Services
) -> None:
    conv = _start(client)
    bot = PausingBot(demo_services.bot)
    bus = RecordingBus(demo_services.bus)
    _swap(demo_services, "bot", bot)
    _swap(demo_services, "bus", bus)
    result: dict[str, Any] = {}

    def post() -> None:
        result["r"] = client.post(
            f"/api/conversations/{conv}/messages", json={"text": QUESTION}, headers=customer_headers()
        )

    worker = threading.Thread(target=post)
    worker.start()
    assert bot.generating.wait(10)
    claimed = client.post(f"/api/agent/conversations/{conv}/claim", headers=AGENT)
    assert claimed.status_code == 200 and claimed.json()["state"] == "human"
    claimed_at = len(bus.events)
    bot.go_on.set()
    worker.join(20)

    r = result["r"]
    assert r.status_code == 200, r.text
    assert r.json()["replies"] == [] and r.json()["conversation"]["state"] == "human"
    assert [m.author for m in _messages(demo_services, conv)] == ["customer"]  # no bot text stored
    assert _state(demo_services, conv) == "human"
    after = [e for _, e in bus.events[claimed_at:]]
    assert not [e for e in after if e.type == "token"], "no token streamed after the claim"
    assert not [e for e in after if e.type == "message" and e.data.get("author") == "bot"]
    # The customer's next message stays with the agent: the bot does not answer again.
    r = client.post(f"/api/conversations/{conv}/messages", json={"text": "hello?"}, headers=customer_headers())
    assert r.json()["replies"] == [] and _state(demo_services, conv) == "human"


def test_a_takeover_through_another_worker_is_final_too(client: TestClient, demo_services: Services) -> None:
    """The claim lands in the database only (another worker): the turn here must not store its reply."""
    conv = _start(client)
    bot = PausingBot(demo_services.bot)
    _swap(demo_services, "bot", bot)
    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.setdefault(
            "r", client.post(f"/api/conversations/{conv}/messages", json={"text": QUESTION}, headers=customer_headers())
        )
    )
    worker.start()
    assert bot.generating.wait(10)
    with demo_services.store.session(TENANT) as s:  # worker B's claim, as stored
        s.scalars(select(Conversation).where(Conversation.id == conv)).one().state = "human"
    bot.go_on.set()
    worker.join(20)
    assert result["r"].json()["replies"] == []
    assert [m.author for m in _messages(demo_services, conv)] == ["customer"]
    assert _state(demo_services, conv) == "human"


# -- idempotent intake ------------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_returns_the_original(
    client: TestClient, demo_services: Services
) -> None:
    conv = _start(client)
    url = f"/api/conversations/{conv}/messages"
    headers = {**customer_headers(), "Idempotency-Key": "msg-7f3a"}
    first = client.post(url, json={"text": QUESTION}, headers=headers)
    again = client.post(url, json={"text": QUESTION}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    assert [m["id"] for m in again.json()["replies"]] == [m["id"] for m in first.json()["replies"]]
    authors = [m.author for m in _messages(demo_services, conv)]
    assert authors.count("customer") == 1 and authors.count("bot") == 1  # stored once, answered once
    # The same text under a new key is a new message (and the bot does not call it a repetition).
    third = client.post(url, json={"text": QUESTION}, headers={**customer_headers(), "Idempotency-Key": "msg-8b1c"})
    assert third.json()["message"]["id"] != first.json()["message"]["id"]
    bad = client.post(url, json={"text": "hi"}, headers={**customer_headers(), "Idempotency-Key": "has space"})
    assert bad.status_code == 422


def test_a_retry_of_a_message_whose_turn_failed_gets_the_answer(client: TestClient, demo_services: Services) -> None:
    conv = _start(client)
    _swap(demo_services, "bot", FlakyBot(demo_services.bot, failures=1))
    url = f"/api/conversations/{conv}/messages"
    headers = {**customer_headers(), "Idempotency-Key": "k-1"}
    first = client.post(url, json={"text": QUESTION}, headers=headers)
    assert first.status_code == 202, first.text  # stored, never a 500
    assert first.json()["pending"] and first.json()["conversation"]["state"] == "bot"
    again = client.post(url, json={"text": QUESTION}, headers=headers)
    assert again.status_code == 200 and again.json()["replies"]
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    assert [m.author for m in _messages(demo_services, conv)] == ["customer", "bot"]


def test_sequence_numbers_stay_distinct_under_40_concurrent_posts(busy_services: Services) -> None:
    service = ConversationService(busy_services)
    principal = Principal(Role.customer, TENANT, "cus_001")
    conv = service.start(principal).id
    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(
            pool.map(lambda i: service.post_customer_message(principal, conv, f"question number {i}"), range(40))
        )
    assert all(not r.pending for r in results)
    seqs = [m.seq for m in _messages(busy_services, conv)]
    assert seqs == list(range(1, len(seqs) + 1)), seqs  # 1..N: no repeats, no gaps
    assert sum(m.author == "customer" for m in _messages(busy_services, conv)) == 40


# -- nothing stored is left unanswered -----------------------------------------------------------


def test_the_sweeper_answers_a_message_left_without_a_reply_once(client: TestClient, demo_services: Services) -> None:
    conv = _start(client)
    _swap(demo_services, "bot", FlakyBot(demo_services.bot, failures=1))
    r = client.post(f"/api/conversations/{conv}/messages", json={"text": QUESTION}, headers=customer_headers())
    assert r.status_code == 202
    assert sweep(demo_services, grace_s=0) == 1
    assert sweep(demo_services, grace_s=0) == 0  # once
    assert [m.author for m in _messages(demo_services, conv)] == ["customer", "bot"]


def test_the_sweeper_hands_off_when_the_turn_keeps_failing(client: TestClient, demo_services: Services) -> None:
    conv = _start(client)
    _swap(demo_services, "bot", FlakyBot(demo_services.bot, failures=10))
    r = client.post(f"/api/conversations/{conv}/messages", json={"text": QUESTION}, headers=customer_headers())
    assert r.status_code == 202
    assert sweep(demo_services, grace_s=0) == 1
    assert _state(demo_services, conv) == "handoff_pending"
    last = _messages(demo_services, conv)[-1]
    assert last.author == "bot" and last.meta["kind"] == "handoff"
    handoffs = client.get(f"/api/agent/conversations/{conv}/handoffs", headers=AGENT).json()
    assert handoffs[0]["brief"]["reason_detail"] == "technical_fault"
    assert sweep(demo_services, grace_s=0) == 0


# -- dependency faults -------------------------------------------------------------------------


def test_a_bus_that_fails_does_not_fail_the_post(client: TestClient, demo_services: Services) -> None:
    _swap(demo_services, "bus", FailingBus(demo_services.bus))
    conv = _start(client)
    r = client.post(f"/api/conversations/{conv}/messages", json={"text": QUESTION}, headers=customer_headers())
    assert r.status_code == 200, r.text
    assert r.json()["replies"]
    r = client.post(f"/api/agent/conversations/{conv}/claim", headers=AGENT)
    assert r.status_code == 200


def test_a_held_database_lock_gives_503_with_retry_after_and_stores_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db_busy_timeout_s=0.2, db_retry_attempts=2, unanswered_sweep_s=0)
    svc = Services(settings, chat_override=ScriptedChatModel(quote_first_source), embedder_override=HashingEmbedder())
    load_demo(svc)
    with TestClient(create_app(services=svc)) as c:
        conv = _start(c)
        lock = sqlite3.connect(settings.resolved_database_url.split("///", 1)[1], timeout=1)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            r = c.post(f"/api/conversations/{conv}/messages", json={"text": QUESTION}, headers=customer_headers())
        finally:
            lock.rollback()
            lock.close()
        assert r.status_code == 503, r.text
        assert int(r.headers["Retry-After"]) >= 1
        assert "try again" in r.json()["error"].lower()
        assert _messages(svc, conv) == []
    svc.close()


# -- bad input gets a 4xx, never a 500 -------------------------------------------------------


def test_input_the_database_cannot_store_is_refused_with_422(client: TestClient) -> None:
    conv = _start(client)
    r = client.post(f"/api/conversations/{conv}/messages", json={"text": "a\u0000b"}, headers=customer_headers())
    assert r.status_code == 422 and "NUL" in r.json()["error"]
    r = client.post("/api/conversations", json={"language": "x" * 20}, headers=customer_headers())
    assert r.status_code == 422
    assert client.post("/api/conversations", json={"language": "pt-BR"}, headers=customer_headers()).status_code == 201


def test_a_token_whose_payload_is_not_an_object_is_refused(client: TestClient) -> None:
    payload = base64.urlsafe_b64encode(b"[1, 2]").rstrip(b"=").decode()
    r = client.post("/api/conversations", json={}, headers={"Authorization": f"Bearer {payload}.sig"})
    assert r.status_code == 403


def test_a_wrong_method_gets_405_with_allow(client: TestClient) -> None:
    r = client.delete("/api/conversations", headers=customer_headers())
    assert r.status_code == 405 and "POST" in r.headers["Allow"]


def test_a_chunked_body_is_cut_at_the_limit_before_authentication(client: TestClient) -> None:
    sent = [0]

    def body() -> Iterator[bytes]:
        for _ in range(64):  # 4 MB in 64 KB chunks, no Content-Length
            sent[0] += 1
            yield b"x" * 65536

    r = client.post("/api/conversations/x/messages", content=body(), headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text  # not 403: cut before the credentials are looked at
    assert "limit" in r.json()["error"]


def test_liveness_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


# -- one knowledge state for all workers ---------------------------------------------------------


def test_an_article_edited_through_one_worker_is_what_the_other_searches_next(tmp_path: Path) -> None:
    """Two workers share the database and the dense index; each has its own keyword index and
    live-version pointers (as two processes would)."""
    settings: Settings = make_settings(tmp_path)
    a = Services(settings, embedder_override=HashingEmbedder())
    b = Services(settings, embedder_override=HashingEmbedder())
    a.store.ensure_tenant(TENANT, "Larkspur", {})
    doc = Document(id="care-guide", title="Caring for linen", body="Wash linen at 40 degrees with mild soap.")
    a.kb.load_documents(TENANT, [doc])
    filters = Filters(TENANT)
    assert b.retriever.search("wash linen", k=3, filters=filters)[0].version == 1  # worker B warmed up

    edited = Document(id="care-guide", title="Caring for linen", body="Wash linen cold; tumble-dry lavender-scented.")
    a.kb.load_documents(TENANT, [edited])
    hits = b.retriever.search("lavender scented tumble", k=3, filters=filters)
    assert hits and hits[0].article_id == "care-guide" and hits[0].version == 2
    assert all(p.version == 2 for p in b.retriever.search("wash linen", k=3, filters=filters))

    a.kb.delete(TENANT, "care-guide")
    assert b.retriever.search("wash linen", k=3, filters=filters) == []
    a.close()
    b.close()


@pytest.mark.parametrize("attempts", [1, 3])
def test_a_second_reply_to_an_answered_message_is_not_stored(
    client: TestClient, demo_services: Services, attempts: int
) -> None:
    """The reply key is checked only when the unit of work runs again (its unique constraint
    catches the turn that lost): with retries left, or with none, the loser stores nothing."""
    from server.schemas import MessagePublic
    from server.service import ConversationService

    conv = _start(client)
    r = client.post(f"/api/conversations/{conv}/messages", json={"text": QUESTION}, headers=customer_headers())
    assert r.status_code == 200 and r.json()["replies"]
    stored = MessagePublic(**r.json()["message"])
    demo_services.store.retry_attempts = attempts
    try:
        again = ConversationService(demo_services)._store_bot_message(TENANT, conv, stored, "a second answer", {})
    finally:
        demo_services.store.retry_attempts = 3
    assert again is None
    assert [m.author for m in _messages(demo_services, conv)] == ["customer", "bot"]
