"""The ``EventBus`` seam: in-process (default) and Redis pub/sub (several workers).

``publish`` is synchronous and thread-safe (bot turns run in worker threads);
``subscribe`` is an async context manager yielding an async iterator of events.

Topics (built by the helpers below, always tenant-prefixed):
    customer(tenant, conversation)  -> what the customer's widget may see
    agent(tenant, conversation)     -> what the agent console sees (suggestions included)
    queue(tenant)                   -> conversation list changes for agents

Faults: ``publish`` never raises. The Redis bus keeps events it could not publish (not
streamed tokens) in a bounded outbox and sends them when Redis answers again. A
subscription that loses events (Redis went away, or an in-process subscriber fell more
than ``max_queue`` events behind) ends its iterator with ``EventBusUnavailable``: the
websocket closes with a code the clients reconnect on, and on reconnecting they fetch
what they missed from the store by sequence number (``server/routes/ws.py``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field, ValidationError

from core.errors import EventBusUnavailable
from core.registry import Registry

log = logging.getLogger("switchboard.events")

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

    def publish_many(self, topics: Sequence[str], event: Event) -> None:
        """``publish`` of one event to each of ``topics``, in order (Redis: one round trip)."""
        ...

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
                loop.call_soon_threadsafe(_put_or_mark_lost, queue, event)
            except RuntimeError:  # loop closed: the subscriber is gone
                continue

    def publish_many(self, topics: Sequence[str], event: Event) -> None:
        for topic in topics:
            self.publish(topic, event)

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


_LOST = Event(type="_lost", tenant_id="")


def _put_or_mark_lost(queue: asyncio.Queue[Event], event: Event) -> None:
    """A subscriber that fell ``max_queue`` events behind has lost events: say so, once."""
    if queue.full():
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(_LOST)
        return
    queue.put_nowait(event)


async def _drain(queue: asyncio.Queue[Event]) -> AsyncIterator[Event]:
    while True:
        event = await queue.get()
        if event is _LOST:
            raise EventBusUnavailable("This subscriber fell behind and lost events; reconnect and fetch them")
        yield event


class RedisBus:
    """Redis pub/sub, so several server workers share events.

    ``publish`` waits at most ``timeout_s`` for Redis; what it could not send (except
    streamed tokens) waits in an outbox of ``outbox_size`` events and goes out, in order,
    before the next event once Redis answers (a background thread retries every second).
    A subscription pings Redis after ``idle_ping_s`` of silence and ends with
    ``EventBusUnavailable`` when Redis does not answer within ``timeout_s`` or drops the
    connection (events published meanwhile are lost to it, so it must not go on silently).
    """

    name = "redis"

    def __init__(
        self, url: str, *, timeout_s: float = 1.0, outbox_size: int = 10_000, idle_ping_s: float = 5.0
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.idle_ping_s = idle_ping_s
        self._sync: Any = None
        self._lock = threading.RLock()
        self._outbox: deque[tuple[str, str]] = deque(maxlen=outbox_size)
        self._down_until = 0.0
        self._flusher: threading.Thread | None = None
        self._closed = threading.Event()
        self.failed_publishes = 0

    def _client(self) -> Any:
        if self._sync is None:
            with self._lock:  # re-entrant: also called with the lock held
                return self._make_client()
        return self._sync

    def _make_client(self) -> Any:
        if self._sync is None:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            self._sync = redis.Redis.from_url(
                self.url,
                socket_connect_timeout=self.timeout_s,
                socket_timeout=self.timeout_s,
                retry=Retry(NoBackoff(), 0),
            )
        return self._sync

    @property
    def pending(self) -> int:
        """Events waiting in the outbox for Redis to come back."""
        return len(self._outbox)

    def publish(self, topic: str, event: Event) -> None:
        self.publish_many((topic,), event)

    def publish_many(self, topics: Sequence[str], event: Event) -> None:
        """One serialisation and one round trip for every topic (a pipeline, not a transaction:
        after a failure part of it may have gone out, and the outbox sends it again — events
        are delivered at least once, as with ``publish``)."""
        payload = event.model_dump_json()
        # Nothing waits in the outbox and Redis is up: send without the lock. redis-py's pool
        # gives each thread a connection of its own, and holding one lock across the round trip
        # made every turn thread of a worker queue behind the one whose reply waited for the GIL
        # (py-spy, `bench load --mode scaleout`: 4 % of the workers' samples waited on that lock).
        # Events of one conversation come from one thread at a time, one after the other, so
        # they still leave in order; a failure falls through to the outbox below.
        if not self._outbox and time.monotonic() >= self._down_until:
            try:
                self._send(topics, payload)
                return
            except Exception as exc:  # noqa: BLE001  (redis and OS errors alike: never fail the caller)
                with self._lock:
                    self._mark_down(exc)
        with self._lock:
            if time.monotonic() >= self._down_until and self._flush_locked():
                try:
                    self._send(topics, payload)
                    return
                except Exception as exc:  # noqa: BLE001
                    self._mark_down(exc)
            if event.type != "token":  # a token is stale by the time Redis is back
                self._outbox.extend((topic, payload) for topic in topics)
            self._start_flusher()

    def _send(self, topics: Sequence[str], payload: str) -> None:
        client = self._client()
        if len(topics) == 1:
            client.publish(topics[0], payload)
            return
        pipe = client.pipeline(transaction=False)
        for topic in topics:
            pipe.publish(topic, payload)
        pipe.execute()

    def _mark_down(self, exc: BaseException) -> None:
        self.failed_publishes += 1
        if time.monotonic() >= self._down_until:
            log.warning("Redis publish failed (%s); events wait in the outbox", exc)
        self._down_until = time.monotonic() + 1.0

    def _flush_locked(self) -> bool:
        while self._outbox:
            topic, payload = self._outbox[0]
            try:
                self._client().publish(topic, payload)
            except Exception as exc:  # noqa: BLE001
                self._mark_down(exc)
                return False
            self._outbox.popleft()
        return True

    def flush(self) -> bool:
        """Send what the outbox holds, in order; True when it is empty."""
        with self._lock:
            return self._flush_locked()

    def _start_flusher(self) -> None:
        if self._flusher is not None and self._flusher.is_alive():
            return

        def run() -> None:
            while not self._closed.wait(1.0):
                if self.flush():
                    return

        self._flusher = threading.Thread(target=run, name="redis-outbox", daemon=True)
        self._flusher.start()

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[Event]]:
        import redis.asyncio as aioredis
        from redis.backoff import NoBackoff
        from redis.exceptions import RedisError
        from redis.retry import Retry

        client = aioredis.Redis.from_url(
            self.url, socket_connect_timeout=self.timeout_s, retry=Retry(NoBackoff(), 0)
        )
        pubsub = client.pubsub()
        try:
            await asyncio.wait_for(pubsub.subscribe(topic), self.timeout_s * 2)
        except (RedisError, OSError, TimeoutError) as exc:
            await _quietly(pubsub.aclose())  # type: ignore[no-untyped-call]
            await _quietly(client.aclose())
            raise EventBusUnavailable(f"Redis is not reachable ({exc}); try again shortly") from exc

        async def events() -> AsyncIterator[Event]:
            quiet_since = time.monotonic()
            pinged_at: float | None = None
            while True:
                try:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                except (RedisError, OSError) as exc:
                    raise EventBusUnavailable(f"Lost the Redis subscription: {exc}") from exc
                now = time.monotonic()
                if message is None:
                    if pinged_at is not None and now - pinged_at > self.timeout_s * 3:
                        raise EventBusUnavailable("Redis stopped answering the subscription's ping")
                    if pinged_at is None and now - quiet_since > self.idle_ping_s:
                        try:
                            await asyncio.wait_for(pubsub.ping(), self.timeout_s)
                        except (RedisError, OSError, TimeoutError) as exc:
                            raise EventBusUnavailable(f"Lost the Redis subscription: {exc}") from exc
                        pinged_at = now
                    continue
                quiet_since, pinged_at = now, None
                if message.get("type") != "message":
                    continue  # pong
                try:
                    yield Event.model_validate(json.loads(message["data"]))
                except (ValueError, ValidationError):
                    log.warning("dropped a malformed event on %s", topic)

        try:
            yield events()
        finally:
            await _quietly(pubsub.unsubscribe(topic))
            await _quietly(pubsub.aclose())  # type: ignore[no-untyped-call]
            await _quietly(client.aclose())

    def close(self) -> None:
        self._closed.set()
        if self._outbox:
            self.flush()
        if self._sync is not None:
            self._sync.close()


async def _quietly(awaitable: Any) -> None:
    """Clean-up that must not mask the original error (Redis may be gone)."""
    try:
        await asyncio.wait_for(awaitable, 1.0)
    except Exception:  # noqa: BLE001
        log.debug("clean-up after a Redis subscription failed", exc_info=True)


def _memory(settings: Settings) -> EventBus:
    return InProcessBus()


def _redis(settings: Settings) -> EventBus:
    return RedisBus(settings.redis_url, timeout_s=settings.event_bus_timeout_s)


EVENT_BUSES: Registry[EventBus] = Registry("event bus")
EVENT_BUSES.register("memory", _memory)
EVENT_BUSES.register("redis", _redis)
