"""The ``EventBus`` seam: in-process (default) and Redis pub/sub (several workers).

``publish`` is synchronous and thread-safe (bot turns run in worker threads);
``subscribe`` is an async context manager yielding an async iterator of events.

Topics (built by the helpers below, always tenant-prefixed):
    customer(tenant, conversation)  -> what the customer's widget may see
    agent(tenant, conversation)     -> what the agent console sees (suggestions included)
    queue(tenant)                   -> conversation list changes for agents
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from core.registry import Registry

if TYPE_CHECKING:
    from core.settings import Settings


class Event(BaseModel):
    type: str  # message, handoff, state, token, suggestions, typing, ...
    tenant_id: str
    conversation_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())


def customer_topic(tenant: str, conversation: str) -> str:
    return f"{tenant}:conv:{conversation}:customer"


def agent_topic(tenant: str, conversation: str) -> str:
    return f"{tenant}:conv:{conversation}:agent"


def queue_topic(tenant: str) -> str:
    return f"{tenant}:queue"


class EventBus(Protocol):
    name: str

    def publish(self, topic: str, event: Event) -> None: ...

    def subscribe(self, topic: str) -> Any:
        """``async with bus.subscribe(topic) as events: async for e in events: ...``"""
        ...

    def close(self) -> None: ...


class InProcessBus:
    """Fan-out to asyncio queues of subscribers in this process."""

    name = "memory"

    def __init__(self, max_queue: int = 1000) -> None:
        self._subs: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event]]]] = {}
        self._lock = threading.Lock()
        self.max_queue = max_queue

    def publish(self, topic: str, event: Event) -> None:
        with self._lock:
            targets = list(self._subs.get(topic, ()))
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(_put_dropping_oldest, queue, event)
            except RuntimeError:  # loop closed: the subscriber is gone
                continue

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self.max_queue)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subs.setdefault(topic, set()).add(entry)
        try:
            yield _drain(queue)
        finally:
            with self._lock:
                self._subs.get(topic, set()).discard(entry)

    def subscriber_count(self, topic: str) -> int:
        with self._lock:
            return len(self._subs.get(topic, ()))

    def close(self) -> None:
        with self._lock:
            self._subs.clear()


def _put_dropping_oldest(queue: asyncio.Queue[Event], event: Event) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(event)


async def _drain(queue: asyncio.Queue[Event]) -> AsyncIterator[Event]:
    while True:
        yield await queue.get()


class RedisBus:
    """Redis pub/sub, so several server workers share events."""

    name = "redis"

    def __init__(self, url: str) -> None:
        self.url = url
        self._sync: Any = None

    def _client(self) -> Any:
        if self._sync is None:
            import redis

            self._sync = redis.Redis.from_url(self.url)
        return self._sync

    def publish(self, topic: str, event: Event) -> None:
        self._client().publish(topic, event.model_dump_json())

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[Event]]:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url)
        pubsub = client.pubsub()
        await pubsub.subscribe(topic)

        async def events() -> AsyncIterator[Event]:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    yield Event.model_validate(json.loads(message["data"]))

        try:
            yield events()
        finally:
            await pubsub.unsubscribe(topic)
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()


def _memory(settings: Settings) -> EventBus:
    return InProcessBus()


def _redis(settings: Settings) -> EventBus:
    return RedisBus(settings.redis_url)


EVENT_BUSES: Registry[EventBus] = Registry("event bus")
EVENT_BUSES.register("memory", _memory)
EVENT_BUSES.register("redis", _redis)
