"""Shared fixtures. Unit tests use the shipped fakes and may not call a live model;
tests marked ``integration`` or ``e2e`` use the real bundled models."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.models.chat import LiveModelGuard
from core.models.fake import HashingEmbedder, ScriptedChatModel
from core.settings import Settings
from server.app import create_app
from server.auth import sign_widget_token
from server.container import Services
from server.demo import demo_tenant_config, load_demo
from server.secrets import derived_secret

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "demo"
SHARED_DATA = ROOT.parent / "shared" / "data"
TENANT = "larkspur"
OPEN_HOURS = datetime(2026, 11, 18, 11, 0, tzinfo=UTC)  # a Wednesday within the demo shop's support hours


@pytest.fixture(autouse=True)
def _guard_live_models(request: pytest.FixtureRequest) -> Iterator[None]:
    live = request.node.get_closest_marker("integration") or request.node.get_closest_marker("e2e")
    LiveModelGuard.allowed = bool(live)
    yield
    LiveModelGuard.allowed = True


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "data_dir": data_dir,
        "chat_backend": "fake",
        "embedder_backend": "fake",
        "demo_dir": DEMO_DIR,
        # Similarity thresholds are calibrated per embedder: the hashing embedder scores lower.
        "extractive_min_similarity": 0.35,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def quote_first_source(prompt: str) -> str:
    """A fake model that answers with the first full sentence of source [1], cited."""
    import re

    match = re.search(r">> \[1\][^\n]*\n+(.+?[.!?])(?:\s|$)", prompt, re.DOTALL)
    return f"{match.group(1).strip()} [1]" if match else "I don't know."


@pytest.fixture
def chat() -> ScriptedChatModel:
    return ScriptedChatModel(quote_first_source)


@pytest.fixture
def services(settings: Settings, chat: ScriptedChatModel) -> Iterator[Services]:
    svc = Services(settings, chat_override=chat, embedder_override=HashingEmbedder(), clock_override=lambda: OPEN_HOURS)
    svc.store.ensure_tenant(TENANT, "Larkspur", demo_tenant_config())
    yield svc
    svc.close()


@pytest.fixture
def demo_services(services: Services) -> Services:
    load_demo(services)
    return services


@pytest.fixture
def client(demo_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=demo_services)) as c:
        yield c


def widget_token(customer_id: str | None = "cus_001", tenant: str = TENANT, visitor_id: str | None = None) -> str:
    # No secret is configured for the demo in tests: the development secret derived from
    # SWITCHBOARD_SECRET_KEY applies (server.secrets).
    secret = derived_secret(make_settings(ROOT / "var"), tenant)
    return sign_widget_token(secret, tenant, customer_id, visitor_id=visitor_id)


def customer_headers(customer_id: str | None = "cus_001", visitor_id: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {widget_token(customer_id, visitor_id=visitor_id)}"}


AGENT = {"X-API-Key": "dev-agent-key"}
EDITOR = {"X-API-Key": "dev-editor-key"}
SUPERVISOR = {"X-API-Key": "dev-supervisor-key"}
EVALUATOR = {"X-API-Key": "dev-evaluator-key"}
ADMIN = {"X-API-Key": "dev-admin-key"}


@pytest.fixture(scope="session")
def real_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The embedded default with the real bundled models and the demo loaded (once per run)."""
    data_dir = tmp_path_factory.mktemp("real")
    svc = Services(
        Settings(environment="test", data_dir=data_dir, demo_dir=DEMO_DIR)  # type: ignore[call-arg]
    )
    LiveModelGuard.allowed = True
    load_demo(svc)
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, object]:
    return {"executable_path": "/usr/bin/chromium", "headless": True}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run browser/e2e tests last: Playwright's sync API leaves an event loop running in the
    main thread, which would break pytest-asyncio tests collected after it."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
