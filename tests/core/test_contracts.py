"""The embedded defaults pass the seam contracts: the in-process bus and SQLite.
(Redis and PostgreSQL run the same contracts in tests/integration/.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.db.store import Store
from core.events import EventBus, InProcessBus
from tests.core.contracts import EventBusContract, StoreContract


class TestInProcessBus(EventBusContract):
    @pytest.fixture
    def bus(self) -> Iterator[EventBus]:
        bus = InProcessBus()
        yield bus
        bus.close()

    @pytest.fixture
    def second_bus(self, bus: EventBus) -> EventBus:
        return bus  # one process, one bus: "another worker" does not exist in memory


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        store = Store(f"sqlite:///{tmp_path / 'contract.db'}")
        store.create_all()
        yield store
        store.dispose()
