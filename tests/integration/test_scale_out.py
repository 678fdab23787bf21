"""Scale-out by configuration: two server processes share PostgreSQL and Redis. A customer
connected to worker A receives what an agent does through worker B, and the agents' queue on
worker A hears about a handoff that happened on worker B.

The models are the shipped fakes (``SWITCHBOARD_CHAT_BACKEND=fake``): this test is about the
Store and EventBus seams, not about answers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from core.db.store import Store
from server.demo import demo_tenant_config
from tests.e2e.server import running_servers, server_env, tail
from tests.integration.conftest import temporary_database

pytestmark = pytest.mark.integration

AGENT = {"X-API-Key": "dev-agent-key"}


def _recv_until(
    ws: ClientConnection, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while (remaining := deadline - time.monotonic()) > 0:
        event = json.loads(ws.recv(timeout=remaining))
        seen.append(event["type"])
        if predicate(event):
            return event
    raise AssertionError(f"no matching event within {timeout}s; saw {seen}")


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[tuple[str, str]]:
    with temporary_database() as database_url:
        shared = {
            "database_url": database_url,
            "event_bus_backend": "redis",
            "redis_url": redis_url,
            "chat_backend": "fake",
            "embedder_backend": "fake",
        }
        # Each worker has its own data dir (its own embedded Chroma); what they share is
        # PostgreSQL (conversations, tenants, CRM) and Redis (events).
        dir_a, dir_b = tmp_path_factory.mktemp("worker_a"), tmp_path_factory.mktemp("worker_b")
        env_a, env_b = server_env(dir_a, **shared), server_env(dir_b, **shared)
        # Only the tenant is needed (its widget secret signs the customer token): no KB load.
        store = Store(database_url)
        store.create_all()
        store.ensure_tenant("larkspur", "Larkspur", demo_tenant_config())
        store.dispose()
        log_a, log_b = Path(dir_a) / "server.log", Path(dir_b) / "server.log"
        try:
            with running_servers([(env_a, log_a), (env_b, log_b)]) as [url_a, url_b]:
                yield url_a, url_b
        except BaseException:
            print(f"worker A log:\n{tail(log_a)}\nworker B log:\n{tail(log_b)}")
            raise


def test_events_cross_workers_through_redis(two_workers: tuple[str, str]) -> None:
    url_a, url_b = two_workers
    ws_a = url_a.replace("http://", "ws://", 1)
    with httpx.Client(base_url=url_a, timeout=30) as a, httpx.Client(base_url=url_b, timeout=30) as b:
        token = a.get("/api/demo/session", params={"customer_id": "cus_004"}).json()["token"]
        customer = {"Authorization": f"Bearer {token}"}
        conv = a.post("/api/conversations", json={}, headers=customer).json()["id"]

        with (
            connect(f"{ws_a}/ws/conversations/{conv}?token={token}") as customer_ws,
            connect(f"{ws_a}/ws/agent/queue?key=dev-agent-key") as queue_ws,
        ):
            assert json.loads(customer_ws.recv(timeout=10))["type"] == "hello"
            assert json.loads(queue_ws.recv(timeout=10))["type"] == "hello"
            time.sleep(0.3)  # Redis confirms subscriptions asynchronously

            # The customer's next message goes through worker B (a load balancer may do that).
            r = b.post(
                f"/api/conversations/{conv}/messages", json={"text": "I want to talk to a person"}, headers=customer
            )
            assert r.status_code == 200, r.text
            assert r.json()["handoff"] is not None
            queued = _recv_until(queue_ws, lambda e: e["type"] == "queue" and e["conversation_id"] == conv)
            assert queued["data"]["state"] == "handoff_pending"

            # The agent works on worker B; the customer, connected to worker A, sees it live.
            assert b.post(f"/api/agent/conversations/{conv}/claim", headers=AGENT).json()["state"] == "human"
            text = "Hello from the agent on worker B."
            assert b.post(f"/api/agent/conversations/{conv}/messages", json={"text": text}, headers=AGENT).is_success
            got = _recv_until(customer_ws, lambda e: e["type"] == "message" and e["data"]["author"] == "agent")
            assert got["data"]["text"] == text

        # Both workers read the same stored conversation.
        history_a = a.get(f"/api/conversations/{conv}", headers=customer).json()
        history_b = b.get(f"/api/conversations/{conv}", headers=customer).json()
        assert history_a == history_b
        assert [m["author"] for m in history_a["messages"]][-1] == "agent"
