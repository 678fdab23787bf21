"""Module-scoped apps for the trust tests (the route matrix makes ~100 requests; building
and loading an app per request would take minutes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from core.models.fake import HashingEmbedder, ScriptedChatModel
from server.app import create_app
from server.container import Services
from server.demo import demo_tenant_config
from tests.conftest import TENANT, make_settings, quote_first_source


@pytest.fixture(scope="module")
def bare_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The whole app with the demo tenant configured but no content (auth only)."""
    svc = Services(
        make_settings(tmp_path_factory.mktemp("bare")),
        chat_override=ScriptedChatModel(quote_first_source),
        embedder_override=HashingEmbedder(),
    )
    svc.store.ensure_tenant(TENANT, "Larkspur", demo_tenant_config())
    with TestClient(create_app(services=svc)) as c:
        yield c
    svc.close()
