"""The Store seam on a real PostgreSQL: the same contract as SQLite, plus the conversation
API end to end on Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from core.db.schema import Base
from core.db.store import Store
from core.models.fake import HashingEmbedder, ScriptedChatModel
from server.app import create_app
from server.container import Services
from server.demo import load_demo
from tests.conftest import AGENT, customer_headers, make_settings, quote_first_source
from tests.core.contracts import StoreContract

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_store(pg_database: str) -> Iterator[Store]:
    store = Store(pg_database)
    assert store.dialect == "postgresql"
    store.drop_all()  # each test starts from an empty schema in this session's database
    store.create_all()
    yield store
    store.dispose()


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, pg_store: Store) -> Store:
        return pg_store


def test_the_schema_is_created_with_every_table(pg_store: Store) -> None:
    with pg_store.admin_session() as s:
        names = set(s.scalars(text("select tablename from pg_tables where schemaname = 'public'")))
    assert set(Base.metadata.tables) <= names


def test_the_conversation_api_runs_on_postgres(pg_store: Store, pg_database: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url=pg_database)
    services = Services(
        settings, chat_override=ScriptedChatModel(quote_first_source), embedder_override=HashingEmbedder()
    )
    load_demo(services)
    try:
        with TestClient(create_app(services=services)) as client:
            conv = client.post("/api/conversations", json={}, headers=customer_headers("cus_002")).json()["id"]
            r = client.post(
                f"/api/conversations/{conv}/messages",
                json={"text": "How long do I have to return an item?"},
                headers=customer_headers("cus_002"),
            )
            assert r.status_code == 200, r.text
            assert r.json()["replies"][0]["citations"], r.json()
            r = client.post(
                f"/api/conversations/{conv}/messages",
                json={"text": "human please"},
                headers=customer_headers("cus_002"),
            )
            assert r.json()["handoff"] is not None
            assert conv in [c["id"] for c in client.get("/api/agent/conversations", headers=AGENT).json()["data"]]
            # Another customer of the same tenant cannot read it.
            assert client.get(f"/api/conversations/{conv}", headers=customer_headers("cus_001")).status_code == 403
    finally:
        services.close()


def _backend_pid(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_killed_while_idle_is_replaced_before_use(pg_database: str) -> None:
    """A pooled connection that the server dropped while it sat idle (a restart, an idle
    timeout) is pinged at checkout and replaced: the next unit of work never sees the error."""
    store, admin = Store(pg_database, idle_ping_s=0.0), Store(pg_database)
    try:
        killed = _backend_pid(store)
        with admin.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed}).scalar_one()
        assert _backend_pid(store) != killed  # a new connection, no error
    finally:
        store.dispose()
        admin.dispose()


def test_a_busy_pool_hands_connections_out_without_a_ping(pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pinged only after ``idle_ping_s`` in the pool: a connection reused at once is not."""
    pings: list[object] = []
    store = Store(pg_database, idle_ping_s=60.0)
    real_ping = store.engine.dialect.do_ping
    monkeypatch.setattr(store.engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
    try:
        for _ in range(5):
            _backend_pid(store)
        assert pings == []
        store_idle = Store(pg_database, idle_ping_s=0.0)
        monkeypatch.setattr(store_idle.engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
        try:
            first = _backend_pid(store_idle)
            assert _backend_pid(store_idle) == first  # the same connection, pinged and kept
            assert len(pings) == 1
        finally:
            store_idle.dispose()
    finally:
        store.dispose()


@pytest.mark.parametrize("database", ["new", "older"])
def test_workers_starting_at_once_all_start(database: str) -> None:
    """Four workers started at the same moment (``uvicorn --workers 4``) each create the schema
    on one PostgreSQL database, new or from before ``conversations.waiting_since``: all start
    (before: three of four failed with a duplicate pg_type / DuplicateColumn error)."""
    import threading

    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from tests.integration.conftest import temporary_database

    with temporary_database() as url:
        if database == "older":
            older = Store(url)
            older.create_all()
            with older.engine.begin() as conn:
                conn.execute(text("DROP INDEX ix_conversations_waiting"))
                conn.execute(text("ALTER TABLE conversations DROP COLUMN waiting_since"))
            older.dispose()
        stores = [Store(url) for _ in range(4)]
        start = threading.Barrier(len(stores))
        failed: list[SQLAlchemyError] = []

        def run(store: Store) -> None:
            start.wait(10)
            try:
                store.create_all()
            except SQLAlchemyError as exc:
                failed.append(exc)

        threads = [threading.Thread(target=run, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        found = inspect(stores[0].engine)
        columns = {c["name"] for c in found.get_columns("conversations")}
        indexes = {i["name"] for i in found.get_indexes("conversations")}
        for store in stores:
            store.dispose()
    assert failed == []
    assert "waiting_since" in columns and "ix_conversations_waiting" in indexes
