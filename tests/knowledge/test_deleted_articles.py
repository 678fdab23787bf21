"""An article deleted and loaded again continues its version numbers (v1, delete, load: v2),
for the tenant's whole lifetime: a chunk id (``article::vN::n``) never names two texts, so no
worker serves a deleted text from what it holds by id (keyword rows, kept chunks, caches)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session

from core.db.schema import Article, ArticleTombstone, ArticleVersion, KbState
from core.db.store import Store
from core.errors import NotFound
from core.models.fake import HashingEmbedder
from core.types import Visibility
from knowledge.documents import Document
from knowledge.index.base import Filters
from server.container import Services
from server.tenants import Onboarding
from tests.conftest import TENANT, make_settings

ALL = Filters(TENANT, frozenset({Visibility.public, Visibility.internal}))


def kettle(text: str) -> Document:
    return Document(id="kettle", title="Kettle", body=f"# Kettle\n\n{text}")


def texts(services: Services, query: str, mode: str) -> list[tuple[int, str]]:
    found = services.retriever.with_mode(mode).search(query, k=5, filters=ALL)
    return [(p.version, p.text) for p in found if p.article_id == "kettle"]


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[Services, Services]]:
    """Two workers on one database and one dense index, each with its own keyword index,
    live-version pointers and kept chunks (as two processes would have)."""
    settings = make_settings(tmp_path)
    a = Services(settings, embedder_override=HashingEmbedder())
    b = Services(settings, embedder_override=HashingEmbedder())
    a.store.ensure_tenant(TENANT, "Larkspur", {})
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_an_article_deleted_and_loaded_again_continues_its_version_numbers(services: Services) -> None:
    kb = services.kb
    assert kb.load_documents(TENANT, [kettle("Descale monthly.")]).versions == {"kettle": 1}
    kb.delete(TENANT, "kettle")
    again = kb.load_documents(TENANT, [kettle("Descale weekly.")])
    assert again.added == ["kettle"] and again.updated == [] and again.versions == {"kettle": 2}
    assert [(v.version, v.live) for v in kb.versions(TENANT, "kettle")] == [(2, True)]
    assert [(a.id, a.version) for a in kb.list_articles(TENANT)] == [("kettle", 2)]
    assert {c.id for c in services.index.chunks(TENANT)} == {"kettle::v2::0"}
    assert texts(services, "descale kettle", "keyword") == [(2, "Descale weekly.")]
    # An edit continues from there; a second delete remembers the newest number.
    assert kb.load_documents(TENANT, [kettle("Descale daily.")]).versions == {"kettle": 3}
    kb.delete(TENANT, "kettle")
    assert kb.load_documents(TENANT, [kettle("Descale hourly.")]).versions == {"kettle": 4}
    # Loading it again (unchanged) is still unchanged, and another article starts at 1.
    assert kb.load_documents(TENANT, [kettle("Descale hourly.")]).unchanged == ["kettle"]
    other = Document(id="toaster", title="Toaster", body="# Toaster\n\nEmpty the crumb tray.")
    assert kb.load_documents(TENANT, [other]).versions == {"toaster": 1}


def test_another_worker_serves_the_new_text_of_an_article_deleted_and_loaded_again(
    two_workers: tuple[Services, Services],
) -> None:
    a, b = two_workers
    a.kb.load_documents(TENANT, [kettle("Descale the kettle monthly with citric acid.")])
    for mode in ("keyword", "dense", "hybrid"):  # worker B holds the old text in every index
        assert texts(b, "descale kettle citric acid", mode) == [(1, "Descale the kettle monthly with citric acid.")]
    a.kb.delete(TENANT, "kettle")
    a.kb.load_documents(TENANT, [kettle("Descale the kettle weekly with vinegar.")])
    for mode in ("keyword", "dense", "hybrid"):
        for query in ("descale kettle citric acid", "descale kettle vinegar"):
            assert texts(b, query, mode) == [(2, "Descale the kettle weekly with vinegar.")], (mode, query)


def test_the_tombstone_is_written_in_the_same_unit_of_work_as_the_delete(services: Services) -> None:
    """A delete whose tombstone cannot be stored deletes nothing (the article, its versions
    and its search entries stay); a delete that succeeds leaves the tombstone."""
    kb = services.kb
    kb.load_documents(TENANT, [kettle("Descale monthly.")])

    def refuse(session: Session, flush_context: Any, instances: Any) -> None:
        if any(isinstance(obj, ArticleTombstone) for obj in list(session.new) + list(session.dirty)):
            raise RuntimeError("the database refused the tombstone")

    event.listen(Session, "before_flush", refuse)
    try:
        with pytest.raises(RuntimeError):
            kb.delete(TENANT, "kettle")
    finally:
        event.remove(Session, "before_flush", refuse)
    assert kb.get_article(TENANT, "kettle").version == 1
    assert [v.version for v in kb.versions(TENANT, "kettle")] == [1]
    assert texts(services, "descale kettle", "keyword") == [(1, "Descale monthly.")]
    with services.store.session(TENANT) as s:
        assert s.scalars(select(ArticleTombstone)).all() == []

    kb.delete(TENANT, "kettle")
    with services.store.session(TENANT) as s:
        assert [(t.article_id, t.last_version) for t in s.scalars(select(ArticleTombstone))] == [("kettle", 1)]
        assert s.scalars(select(Article)).all() == [] and s.scalars(select(ArticleVersion)).all() == []
    with pytest.raises(NotFound):
        kb.get_article(TENANT, "kettle")
    kb.load_documents(TENANT, [kettle("Descale weekly.")])
    with services.store.session(TENANT) as s:  # the article exists again: no tombstone
        assert s.scalars(select(ArticleTombstone)).all() == []


def test_a_load_numbered_before_a_delete_and_reload_elsewhere_is_refused(services: Services) -> None:
    """The check at commit: a new article row never takes a number a tombstone has used (a
    load that read the numbers before another worker deleted, loaded and deleted again)."""
    kb = services.kb
    kb.load_documents(TENANT, [kettle("Descale monthly.")])
    real_current = kb._current
    stale = real_current(TENANT)  # what a slow load read: kettle at v1, so it writes v2
    kb.delete(TENANT, "kettle")
    kb.load_documents(TENANT, [kettle("Descale weekly.")])  # v2, elsewhere
    kb.delete(TENANT, "kettle")  # tombstone: 2
    kb._current = lambda tenant_id: stale  # type: ignore[method-assign]
    late = kb.load_documents(TENANT, [kettle("Descale daily.")])
    kb._current = real_current  # type: ignore[method-assign]
    assert late.added == late.updated == [] and "load it again" in next(iter(late.errors.values()))
    assert kb.list_articles(TENANT) == [] and services.index.chunks(TENANT) == []
    assert kb.load_documents(TENANT, [kettle("Descale daily.")]).versions == {"kettle": 3}


def test_a_tenant_deleted_and_created_again_never_serves_the_old_content(
    two_workers: tuple[Services, Services],
) -> None:
    """Deleting a tenant erases its tombstones, bumps its KB counter (every worker drops its
    pointers) and raises the tenant's version floor, so the articles of a tenant created
    again with the same id never take the numbers (the chunk ids) of the old ones."""
    a, b = two_workers
    old = [
        kettle("Descale the kettle monthly with citric acid."),
        Document(id="toaster", title="Toaster", body="# Toaster\n\nEmpty the crumb tray weekly."),
    ]
    a.kb.load_documents(TENANT, old)
    a.kb.delete(TENANT, "toaster")
    a.kb.load_documents(TENANT, old[1:])  # toaster v2
    a.kb.load_documents(TENANT, [Document(id="oven", title="Oven", body="# Oven\n\nPreheat.")])
    a.kb.delete(TENANT, "oven")  # a tombstone
    for worker in (a, b):
        assert texts(worker, "descale kettle citric acid", "keyword") == [(1, old[0].body.split("\n\n")[1])]
    generation = a.store.kb_generation(TENANT)

    counts = Onboarding(a).delete(TENANT, actor="test")
    assert counts["article_tombstones"] == 1 and counts["articles"] == 2
    assert b.store.kb_generation(TENANT) > generation  # the other workers reload their pointers
    for worker in (a, b):  # the tenant's content is gone from every worker's search
        assert worker.retriever.search("crumb tray kettle citric acid", k=5, filters=ALL) == []

    a.store.ensure_tenant(TENANT, "Larkspur", {})
    report = a.kb.load_documents(TENANT, [kettle("Descale the kettle weekly with vinegar.")])
    assert report.added == ["kettle"] and report.versions == {"kettle": 3}  # above every old number
    for worker in (a, b):
        for query in ("descale kettle citric acid", "descale kettle vinegar"):
            for mode in ("keyword", "dense", "hybrid"):
                assert texts(worker, query, mode) == [(3, "Descale the kettle weekly with vinegar.")]
        assert [p.article_id for p in worker.retriever.search("crumb tray", k=5, filters=ALL)] == ["kettle"]
        assert worker.retriever.with_mode("keyword").search("crumb tray", k=5, filters=ALL) == []


def test_create_all_adds_the_tombstones_and_the_version_floor_to_an_existing_database(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    store.create_all()
    with store.engine.begin() as conn:  # a database from before both existed
        conn.execute(text("DROP TABLE article_tombstones"))
        conn.execute(text("DROP TABLE kb_state"))
        conn.execute(text("CREATE TABLE kb_state (tenant_id VARCHAR(64) PRIMARY KEY, generation INTEGER)"))
        conn.execute(text("INSERT INTO kb_state VALUES ('t1', 7)"))
    store.create_all()
    tables = inspect(store.engine)
    assert tables.has_table("article_tombstones")
    assert "version_floor" in {c["name"] for c in tables.get_columns("kb_state")}
    with store.admin_session() as s:
        state = s.get(KbState, "t1")
        assert state is not None and state.generation == 7 and not state.version_floor
    store.dispose()


def test_erasing_a_customer_keeps_no_tombstone_of_their_published_drafts(services: Services) -> None:
    """An article published from a customer's draft has an id made from its title (the
    customer's data): erasure deletes the article and its tombstone, and the tenant's floor
    keeps the numbering monotonic instead."""
    from core.db.schema import KbDraft
    from server.erasure import Erasure

    with services.store.session(TENANT) as s:
        draft = KbDraft(customer_id="cus_9", title="Refund for the blue kettle order", body="...")
        s.add(draft)
        s.flush()
        draft_id = draft.id
    learned = Document(
        id="learned-refund-for-the-blue-kettle-order",
        title="Refund for the blue kettle order",
        body="# Refund\n\nRefunds take five days.",
        source=f"kb-draft:{draft_id}",
    )
    services.kb.load_documents(TENANT, [learned])
    services.kb.load_documents(TENANT, [replace(learned, body="# Refund\n\nRefunds take a week.")])
    _, counts = Erasure(services.store, services.kb).erase_customer(TENANT, "cus_9", "test")
    assert counts["articles"] == 1
    with services.store.session(TENANT) as s:
        assert s.scalars(select(ArticleTombstone)).all() == []
        floor = s.scalar(select(KbState.version_floor).where(KbState.tenant_id == TENANT))
    assert floor == 2
    # The same id loaded again (an editor writes the article anew) still takes a new number.
    assert services.kb.load_documents(TENANT, [learned]).versions == {learned.id: 3}


def test_erasure_removes_a_version_row_whose_load_died_before_its_article_row(services: Services) -> None:
    """A load reserves its number (a version row holding the text) before its article row
    exists; a process that dies in between leaves the row with an id no source leads to.
    Erasing a customer who had drafts removes such rows (the floor keeps the numbers)."""
    from core.db.schema import KbDraft
    from server.erasure import Erasure

    with services.store.session(TENANT) as s:
        s.add(KbDraft(customer_id="cus_7", title="Refund for Ann's kettle", body="..."))
        s.add(
            ArticleVersion(
                article_id="learned-refund-for-ann-s-kettle",
                version=4,
                content_hash="h",
                title="Refund for Ann's kettle",
                body="Ann's refund text",
            )
        )
    services.kb.load_documents(TENANT, [kettle("Descale monthly.")])  # a finished article stays
    Erasure(services.store, services.kb).erase_customer(TENANT, "cus_7", "test")
    with services.store.session(TENANT) as s:
        assert [(v.article_id, v.version) for v in s.scalars(select(ArticleVersion))] == [("kettle", 1)]
        assert s.scalar(select(KbState.version_floor).where(KbState.tenant_id == TENANT)) == 4
