"""Version numbers across deletes on a real PostgreSQL, with two workers (one database, one
dense index, a keyword index and live pointers each): an article deleted and loaded again,
and a tenant deleted and created again, never reuse a number, and the other worker serves the
new text only. (SQLite: tests/knowledge/test_deleted_articles.py.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db.schema import ArticleTombstone, KbState
from core.models.fake import HashingEmbedder
from core.types import Visibility
from knowledge.documents import Document
from knowledge.index.base import Filters
from server.container import Services
from server.tenants import Onboarding
from tests.conftest import make_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def workers(tmp_path: Path, pg_database: str) -> Iterator[tuple[Services, Services, str]]:
    settings = make_settings(tmp_path, database_url=pg_database)
    a = Services(settings, embedder_override=HashingEmbedder())
    b = Services(settings, embedder_override=HashingEmbedder())
    tenant = f"kbnum-{uuid.uuid4().hex[:8]}"  # the session's database is shared with other tests
    assert a.store.dialect == "postgresql"
    a.store.ensure_tenant(tenant, "Numbering", {})
    try:
        yield a, b, tenant
    finally:
        a.close()
        b.close()


def kettle(text: str) -> Document:
    return Document(id="kettle", title="Kettle", body=f"# Kettle\n\n{text}")


def found(services: Services, tenant: str, query: str, mode: str) -> list[tuple[int, str]]:
    filters = Filters(tenant, frozenset({Visibility.public, Visibility.internal}))
    return [(p.version, p.text) for p in services.retriever.with_mode(mode).search(query, k=5, filters=filters)]


def test_delete_and_reload_on_postgres_continues_the_numbers_for_every_worker(
    workers: tuple[Services, Services, str],
) -> None:
    a, b, tenant = workers
    a.kb.load_documents(tenant, [kettle("Descale the kettle monthly with citric acid.")])
    old = "Descale the kettle monthly with citric acid."
    assert found(b, tenant, "descale kettle citric acid", "keyword") == [(1, old)]
    a.kb.delete(tenant, "kettle")
    with a.store.session(tenant) as s:
        assert [(t.article_id, t.last_version) for t in s.scalars(select(ArticleTombstone))] == [("kettle", 1)]
    report = a.kb.load_documents(tenant, [kettle("Descale the kettle weekly with vinegar.")])
    assert report.added == ["kettle"] and report.versions == {"kettle": 2}
    assert [(v.version, v.live) for v in b.kb.versions(tenant, "kettle")] == [(2, True)]
    for mode in ("keyword", "dense", "hybrid"):
        assert found(b, tenant, "descale kettle citric acid", mode) == [(2, "Descale the kettle weekly with vinegar.")]
    with a.store.session(tenant) as s:
        assert s.scalars(select(ArticleTombstone)).all() == []


def test_a_tenant_deleted_and_created_again_on_postgres_numbers_above_the_old_tenant(
    workers: tuple[Services, Services, str],
) -> None:
    a, b, tenant = workers
    a.kb.load_documents(tenant, [kettle("Descale the kettle monthly with citric acid.")])
    a.kb.load_documents(tenant, [kettle("Descale the kettle monthly with lemon juice.")])  # v2
    assert found(b, tenant, "descale kettle lemon", "keyword")[0][0] == 2
    before = b.store.kb_generation(tenant)
    Onboarding(a).delete(tenant, actor="test")
    with a.store.admin_session() as s:
        state = s.get(KbState, tenant)
        assert state is not None and state.version_floor == 2 and state.generation == before + 1
    assert found(b, tenant, "descale kettle lemon", "keyword") == []
    a.store.ensure_tenant(tenant, "Numbering", {})
    assert a.kb.load_documents(tenant, [kettle("Descale the kettle weekly with vinegar.")]).versions == {"kettle": 3}
    for mode in ("keyword", "dense", "hybrid"):
        assert found(b, tenant, "descale kettle lemon", mode) == [(3, "Descale the kettle weekly with vinegar.")]
