"""The EventBus seam on a real Redis: the same contract as the in-process bus, across two
bus instances (two workers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.events import EventBus, RedisBus
from tests.core.contracts import EventBusContract

pytestmark = pytest.mark.integration


class TestRedisBus(EventBusContract):
    @pytest.fixture
    def bus(self, redis_url: str) -> Iterator[EventBus]:
        bus = RedisBus(redis_url)
        yield bus
        bus.close()

    @pytest.fixture
    def second_bus(self, redis_url: str) -> Iterator[EventBus]:
        bus = RedisBus(redis_url)  # another worker's bus: shares nothing but the Redis server
        yield bus
        bus.close()


def test_a_publish_does_not_wait_behind_another_threads_round_trip(redis_url: str) -> None:
    """Turn threads publish at once: one whose round trip is stuck (its reply waiting for the
    GIL, a slow network) must not hold the others' events back."""
    import threading

    from core.events import Event

    bus = RedisBus(redis_url)
    client = bus._client()
    real_publish = client.publish
    stuck, release = threading.Event(), threading.Event()

    def publish(topic: str, payload: str) -> object:
        if threading.current_thread().name == "stuck":
            stuck.set()
            assert release.wait(10)
        return real_publish(topic, payload)

    client.publish = publish
    event = Event(type="message", tenant_id="t", conversation_id="c", data={"text": "hi"})
    first = threading.Thread(target=bus.publish, args=("t:a", event), name="stuck")
    first.start()
    try:
        assert stuck.wait(5)
        second = threading.Thread(target=bus.publish, args=("t:b", event))
        second.start()
        second.join(5)
        assert not second.is_alive(), "the second publish waited for the first one's round trip"
        assert first.is_alive()
    finally:
        release.set()
        first.join(5)
        bus.close()
    assert bus.pending == 0 and bus.failed_publishes == 0
