"""Real services for integration tests: a throw-away PostgreSQL database per test session and
unique Redis topics, so parallel runs by several engineers never collide."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from server.container import Services

PG_ADMIN_DSN = os.environ.get("SWITCHBOARD_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SWITCHBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _sqlalchemy_url(dsn: str, database: str) -> str:
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


@contextmanager
def temporary_database() -> Iterator[str]:
    """A fresh database ``sb_test_<random>``, dropped afterwards; yields its SQLAlchemy URL."""
    psycopg = pytest.importorskip("psycopg")
    name = f"sb_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_DSN} ({exc}); start it or set SWITCHBOARD_TEST_PG_DSN")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _sqlalchemy_url(PG_ADMIN_DSN, name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    with temporary_database() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}); start it or set SWITCHBOARD_TEST_REDIS_URL")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def pg_demo_services(tmp_path: Path) -> Iterator[Services]:
    """The demo tenant on a throw-away PostgreSQL database of this test's own, with the fake
    chat model and embedder and the clock inside opening hours."""
    from core.models.fake import HashingEmbedder, ScriptedChatModel
    from server.container import Services
    from server.demo import load_demo
    from tests.conftest import OPEN_HOURS, make_settings, quote_first_source

    with temporary_database() as url:
        svc = Services(
            make_settings(tmp_path, database_url=url),
            chat_override=ScriptedChatModel(quote_first_source),
            embedder_override=HashingEmbedder(),
            clock_override=lambda: OPEN_HOURS,
        )
        assert svc.store.dialect == "postgresql"
        load_demo(svc)
        yield svc
        svc.close()
