"""The unanswered-message sweeper reads the conversations waiting for the bot's reply
(``Conversation.waiting_since``), not the day's messages: what a customer would notice is that
a message left without a reply is still answered once, whoever wrote last and whatever code
stored it. The scenarios take a ``Services`` so tests/integration runs them on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text, update

from core.db.schema import Conversation, Message
from core.models.fake import HashingEmbedder, ScriptedChatModel
from core.settings import Settings
from server import sweeper
from server.auth import Principal, Role
from server.container import Services
from server.demo import load_demo
from server.service import ConversationService
from server.sweeper import Sweeper, mark_waiting, orphans, sweep
from tests.conftest import OPEN_HOURS, TENANT, make_settings, quote_first_source

QUESTION = "How long do I have to return an item?"
CUSTOMER = Principal(Role.customer, TENANT, "cus_001")
AGENT = Principal(Role.agent, TENANT, name="agent:sam")


class FlakyBot:
    """The real bot, failing the first ``failures`` turns with an unexpected error (the
    message is stored, its turn is not: what a crash after the commit leaves too)."""

    def __init__(self, inner: Any, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    def respond(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("the model returned something unparseable")
        return self.inner.respond(*args, **kwargs)


def worker(settings: Settings) -> Services:
    """One worker of the demo tenant on ``settings``' database (the demo loaded by the caller)."""
    return Services(
        settings,
        chat_override=ScriptedChatModel(quote_first_source),
        embedder_override=HashingEmbedder(),
        clock_override=lambda: OPEN_HOURS,
    )


def failing_turns(services: Services, failures: int = 1) -> None:
    services.__dict__["bot"] = FlakyBot(services.bot, failures)  # a cached component of the container


def waiting_since(services: Services, conv: str) -> datetime | None:
    with services.store.session(TENANT) as s:
        return s.scalar(select(Conversation.waiting_since).where(Conversation.id == conv))


def authors(services: Services, conv: str) -> list[str]:
    with services.store.session(TENANT) as s:
        return list(s.scalars(select(Message.author).where(Message.conversation_id == conv).order_by(Message.seq)))


def left_without_reply(services: Services) -> tuple[ConversationService, str, str]:
    """A conversation whose customer message was stored and whose turn failed: (service,
    conversation id, message id)."""
    service = ConversationService(services)
    conv = service.start(CUSTOMER).id
    failing_turns(services)
    result = service.post_customer_message(CUSTOMER, conv, QUESTION)
    assert result.pending and not result.replies
    return service, conv, result.message.id


# -- scenarios (SQLite here, PostgreSQL in tests/integration/test_sweeper_postgres.py) -------------


def scenario_a_stored_message_is_marked_swept_once_and_unmarked(services: Services) -> None:
    service, conv, message_id = left_without_reply(services)
    with services.store.session(TENANT) as s:
        created = s.scalar(select(Message.created_at).where(Message.id == message_id))
    assert waiting_since(services, conv) == created
    assert orphans(services, grace_s=0) == [(TENANT, conv, message_id)]
    assert orphans(services, grace_s=3600) == []  # younger than the grace: a turn may still be running
    assert sweep(services, grace_s=0) == 1
    assert authors(services, conv) == ["customer", "bot"]
    assert waiting_since(services, conv) is None
    assert sweep(services, grace_s=0) == 0
    service.post_customer_message(CUSTOMER, conv, "And for a sale item?")  # answered at once
    assert waiting_since(services, conv) is None and authors(services, conv)[-1] == "bot"


def scenario_a_conversation_taken_by_an_agent_is_not_swept(services: Services) -> None:
    service, conv, _ = left_without_reply(services)
    agent = AGENT
    service.claim(agent, conv)
    assert waiting_since(services, conv) is None
    service.post_customer_message(CUSTOMER, conv, "Are you there?")  # the agent's to answer
    assert waiting_since(services, conv) is None
    assert sweep(services, grace_s=0) == 0
    service.agent_reply(agent, conv, "Yes, looking at it now.")
    service.post_customer_message(CUSTOMER, conv, "Thanks")
    service.hand_back(agent, conv)  # a system message is the newest: nothing waits for the bot
    assert waiting_since(services, conv) is None
    assert sweep(services, grace_s=0) == 0
    assert authors(services, conv) == ["customer", "customer", "agent", "customer", "system"]


def scenario_two_workers_sweeping_at_once_store_one_reply(services: Services, other: Services) -> None:
    _, conv, _ = left_without_reply(services)
    start = threading.Barrier(2)

    def run(worker: Services) -> int:
        start.wait(5)
        return sweep(worker, grace_s=0)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answered = list(pool.map(run, [services, other]))
    # The count is not checked: a worker whose reply lost the race counts the winner's too.
    assert sum(answered) >= 1
    assert authors(services, conv) == ["customer", "bot"]
    assert waiting_since(services, conv) is None


def scenario_a_database_from_before_the_marker_is_upgraded(services: Services) -> None:
    """A message left without a reply by code without the marker: the column and its index are
    added on start-up, the start-up pass marks the conversation, and the sweep answers it."""
    _, conv, message_id = left_without_reply(services)
    with services.store.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_conversations_waiting"))
        conn.execute(text("ALTER TABLE conversations DROP COLUMN waiting_since"))
    services.store.create_all()  # the next start of a worker
    found = inspect(services.store.engine)
    assert "waiting_since" in {c["name"] for c in found.get_columns("conversations")}
    assert "ix_conversations_waiting" in {i["name"] for i in found.get_indexes("conversations")}
    assert waiting_since(services, conv) is None and orphans(services, grace_s=0) == []
    assert mark_waiting(services) == 1
    assert mark_waiting(services) == 0
    assert orphans(services, grace_s=0) == [(TENANT, conv, message_id)]
    assert sweep(services, grace_s=0) == 1
    assert authors(services, conv) == ["customer", "bot"]


def scenario_the_start_up_pass_does_not_mark_an_answered_conversation(services: Services) -> None:
    service = ConversationService(services)
    conv = service.start(CUSTOMER).id
    service.post_customer_message(CUSTOMER, conv, QUESTION)
    assert authors(services, conv) == ["customer", "bot"]
    with services.store.engine.begin() as conn:
        conn.execute(update(Conversation).values(waiting_since=None))
    assert mark_waiting(services) == 0
    assert waiting_since(services, conv) is None


# -- SQLite ---------------------------------------------------------------------------------------


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[Services, Services]]:
    settings = make_settings(tmp_path, unanswered_sweep_s=0)
    a = worker(settings)
    load_demo(a)
    b = worker(settings)
    yield a, b
    b.close()
    a.close()


def test_a_message_left_without_a_reply_is_marked_swept_once_and_unmarked(
    two_workers: tuple[Services, Services],
) -> None:
    scenario_a_stored_message_is_marked_swept_once_and_unmarked(two_workers[0])


def test_a_conversation_taken_by_an_agent_is_not_swept(two_workers: tuple[Services, Services]) -> None:
    scenario_a_conversation_taken_by_an_agent_is_not_swept(two_workers[0])


def test_two_workers_sweeping_at_once_store_one_reply(two_workers: tuple[Services, Services]) -> None:
    scenario_two_workers_sweeping_at_once_store_one_reply(*two_workers)


def test_a_database_from_before_the_marker_is_upgraded(two_workers: tuple[Services, Services]) -> None:
    scenario_a_database_from_before_the_marker_is_upgraded(two_workers[0])


def test_the_start_up_pass_does_not_mark_an_answered_conversation(two_workers: tuple[Services, Services]) -> None:
    scenario_the_start_up_pass_does_not_mark_an_answered_conversation(two_workers[0])


def test_the_sweeper_thread_marks_and_answers_at_start_up(
    two_workers: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = two_workers[0]
    _, conv, _ = left_without_reply(services)
    with services.store.engine.begin() as conn:  # stored by a worker of the previous version
        conn.execute(update(Conversation).values(waiting_since=None))
    monkeypatch.setattr(sweeper, "STARTUP_GRACE_S", 0.0)
    thread = Sweeper(services, interval_s=3600)
    thread.start()
    try:
        _wait_for(lambda: authors(services, conv) == ["customer", "bot"])
    finally:
        thread.stop()


def test_a_message_a_previous_version_leaves_after_start_up_is_answered(
    two_workers: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rolling upgrade that starts the new workers before it stops the old ones: the last
    worker of the previous version (no marker) stops after every new worker's start-up pass,
    leaving a message without a reply. A later marking pass finds it (before: only start-up
    marked, and the message waited forever)."""
    services = two_workers[0]
    monkeypatch.setattr(sweeper, "STARTUP_GRACE_S", 0.0)
    monkeypatch.setattr(sweeper, "MARK_EVERY_S", 0.2)
    thread = Sweeper(services, interval_s=0.05, grace_s=0.5)
    thread.start()
    try:
        time.sleep(0.3)  # the start-up pass has marked and swept
        _, conv, _ = left_without_reply(services)
        with services.store.engine.begin() as conn:  # as a worker of the previous version stores it
            conn.execute(update(Conversation).where(Conversation.id == conv).values(waiting_since=None))
        _wait_for(lambda: authors(services, conv) == ["customer", "bot"], timeout_s=5.0)
    finally:
        thread.stop()


def test_a_sweep_reads_the_waiting_conversations_by_index_not_the_days_messages(
    two_workers: tuple[Services, Services],
) -> None:
    """SQLite's plan of the sweep's query: an index range of marked conversations, then each
    one's newest message by key; no table is scanned (before: every message of 24 hours)."""
    store = two_workers[0].store
    compiled = sweeper._ORPHANS.compile(store.engine)
    params = {name: "2000-01-01 00:00:00" for name in ("since", "cutoff")}
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", _positional(compiled, params))
        plan = [row[-1] for row in rows]
    assert any("ix_conversations_waiting (state=? AND waiting_since>? AND waiting_since<?)" in p for p in plan), plan
    assert not any(p.startswith("SCAN") for p in plan), plan


def _positional(compiled: Any, params: dict[str, str]) -> tuple[Any, ...]:
    values = compiled.construct_params(params)
    return tuple(values[name] for name in compiled.positiontup)


def _wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
