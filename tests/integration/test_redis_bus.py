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
