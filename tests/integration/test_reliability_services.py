"""Reliability against the real services: sequence numbers under 40 concurrent posts on
PostgreSQL, an idempotent retry there, and the Redis bus when Redis goes away (a private
``redis-server``, so nobody else's Redis is disturbed)."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db.schema import Message
from core.errors import EventBusUnavailable
from core.events import Event, RedisBus
from core.models.fake import HashingEmbedder, ScriptedChatModel
from server.auth import Principal, Role
from server.container import Services
from server.demo import load_demo
from server.service import ConversationService
from tests.conftest import OPEN_HOURS, TENANT, make_settings, quote_first_source

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_services(tmp_path: Path, pg_database: str) -> Iterator[Services]:
    settings = make_settings(
        tmp_path,
        database_url=pg_database,
        messages_per_minute_per_session=1000,
        messages_per_minute_per_tenant=10000,
    )
    svc = Services(
        settings,
        chat_override=ScriptedChatModel(quote_first_source),
        embedder_override=HashingEmbedder(),
        clock_override=lambda: OPEN_HOURS,
    )
    load_demo(svc)
    yield svc
    svc.close()


def test_40_concurrent_posts_get_distinct_sequence_numbers_on_postgres(pg_services: Services) -> None:
    service = ConversationService(pg_services)
    principal = Principal(Role.customer, TENANT, "cus_001")
    conv = service.start(principal).id
    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(lambda i: service.post_customer_message(principal, conv, f"question {i}"), range(40)))
    assert all(r.message.seq > 0 for r in results)
    with pg_services.store.session(TENANT) as s:
        rows = list(s.scalars(select(Message).where(Message.conversation_id == conv).order_by(Message.seq)))
    seqs = [m.seq for m in rows]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    assert sum(m.author == "customer" for m in rows) == 40


def test_an_idempotent_retry_on_postgres_stores_once(pg_services: Services) -> None:
    service = ConversationService(pg_services)
    principal = Principal(Role.customer, TENANT, "cus_002")
    conv = service.start(principal).id
    with ThreadPoolExecutor(max_workers=5) as pool:  # a retry storm with one key
        results = list(
            pool.map(lambda _: service.post_customer_message(principal, conv, "Where is my order?", "k-1"), range(5))
        )
    assert len({r.message.id for r in results}) == 1
    with pg_services.store.session(TENANT) as s:
        customer = s.scalars(select(Message).where(Message.conversation_id == conv, Message.author == "customer"))
        assert len(list(customer)) == 1


@pytest.fixture
def private_redis() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    folder = tempfile.mkdtemp(prefix="sb-redis-test-")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield port, proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    shutil.rmtree(folder, ignore_errors=True)


def test_redis_going_away_ends_the_subscription_and_never_fails_a_publish(
    private_redis: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, proc = private_redis
    bus = RedisBus(f"redis://127.0.0.1:{port}/0", timeout_s=0.5, idle_ping_s=1.0)
    event = Event(type="message", tenant_id="t", conversation_id="c", data={"text": "hi"})

    async def scenario() -> list[str]:
        seen: list[str] = []
        async with bus.subscribe("t:conv:c:customer") as events:
            await asyncio.sleep(0.2)
            bus.publish("t:conv:c:customer", event)
            seen.append((await asyncio.wait_for(events.__anext__(), 5)).type)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            with pytest.raises(EventBusUnavailable):
                await asyncio.wait_for(events.__anext__(), 10)
        return seen

    assert asyncio.run(scenario()) == ["message"]
    start = time.monotonic()
    bus.publish("t:conv:c:customer", event)  # Redis is gone: no exception, kept for later
    bus.publish("t:conv:c:customer", Event(type="token", tenant_id="t", data={"text": "x"}))  # dropped
    assert time.monotonic() - start < 2
    assert bus.pending == 1

    async def reconnect() -> None:
        with pytest.raises(EventBusUnavailable):
            async with bus.subscribe("t:conv:c:customer"):
                pass

    asyncio.run(reconnect())
    bus.close()
