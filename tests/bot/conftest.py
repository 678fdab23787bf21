"""The demo shop loaded once per session; every test gets its own copy (orders are written to)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.models.fake import HashingEmbedder, ScriptedChatModel
from server.app import create_app
from server.container import Services
from server.demo import load_demo
from tests.conftest import OPEN_HOURS, make_settings, quote_first_source


def _services(data_dir: Path) -> Services:
    return Services(
        make_settings(data_dir),
        chat_override=ScriptedChatModel(quote_first_source),
        embedder_override=HashingEmbedder(),
        clock_override=lambda: OPEN_HOURS,
    )


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bot-demo")
    svc = _services(folder)
    load_demo(svc)
    svc.close()
    return folder


@pytest.fixture
def demo_services(_demo_template: Path, tmp_path: Path) -> Iterator[Services]:
    """Overrides the shared fixture for bot tests: same content, copied instead of reloaded."""
    data_dir = tmp_path / "data"
    shutil.copytree(_demo_template, data_dir)
    svc = _services(data_dir)
    yield svc
    svc.close()


@pytest.fixture
def client(demo_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=demo_services)) as c:
        yield c
