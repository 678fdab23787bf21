"""Review of de4179d: a load's version numbers are given back (``_release``) after a failed
or superseded write. A database that is locked or gone at that moment (``StoreUnavailable``
from ``store.session``) must not fail the load: the other files of the batch are committed
and must still go live, and the pending count of the worker's live pointers returns to 0.
Before, the error escaped ``_store``: the load raised, and after a superseded file the
others were current in the database but never flipped (pending count left raised)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.db.schema import ArticleVersion
from knowledge.documents import Document
from server.container import Services
from tests.conftest import TENANT


def doc(i: str, text: str) -> Document:
    return Document(id=i, title=i.title(), body=f"# {i}\n\n{text}")


def pending(services: Services) -> int:
    return services.live_versions.view(TENANT).pending


def kw_ids(services: Services) -> set[str]:
    services.keyword.count(TENANT)
    return set(services.keyword._tenants[TENANT].row_of)


def rows(services: Services) -> list[tuple[str, int]]:
    with services.store.session(TENANT) as s:
        return sorted(s.execute(select(ArticleVersion.article_id, ArticleVersion.version)).tuples().all())


def _release_while_the_database_is_down(services: Services) -> Any:
    """``kb._release`` as it runs when ``store.session`` raises ``StoreUnavailable``."""
    from core.errors import StoreUnavailable

    real_release, real_session = services.kb._release, services.store.session

    def boom(*a: Any) -> Any:
        raise StoreUnavailable("down")

    def release(tenant_id: str, items: Any) -> None:
        services.store.session = boom  # type: ignore[method-assign,assignment]
        try:
            real_release(tenant_id, items)
        finally:
            services.store.session = real_session  # type: ignore[method-assign]

    return release


def test_a_failed_write_whose_numbers_cannot_be_released_is_reported(services: Services) -> None:
    """the store goes away between the failed commit and the release"""
    from core.errors import StoreUnavailable

    kb = services.kb
    kb.load_documents(TENANT, [doc("kettle", "Descale monthly.")])
    real_commit, real_release = kb._commit, kb._release

    def boom(*a: Any) -> Any:
        raise StoreUnavailable("down")

    kb._commit = boom  # type: ignore[method-assign,assignment]
    kb._release = _release_while_the_database_is_down(services)  # type: ignore[method-assign]
    try:
        report = kb.load_documents(TENANT, [doc("kettle", "Descale daily.")])
    finally:
        kb._commit, kb._release = real_commit, real_release  # type: ignore[method-assign]
    assert pending(services) == 0
    assert "kettle" in str(report.errors)


def test_a_superseded_file_whose_number_cannot_be_released_leaves_the_others_live(services: Services) -> None:

    kb = services.kb
    kb.load_documents(TENANT, [doc("kettle", "Descale monthly."), doc("toaster", "Crumbs.")])
    upsert = services.index.upsert
    calls = {"n": 0}

    def slow(tenant_id: str, chunks: Any, vectors: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            kb.load_documents(TENANT, [doc("kettle", "Descale weekly.")])
        upsert(tenant_id, chunks, vectors)

    real_release = kb._release
    services.index.upsert = slow  # type: ignore[method-assign]
    kb._release = _release_while_the_database_is_down(services)  # type: ignore[method-assign]
    try:
        report = kb.load_documents(TENANT, [doc("kettle", "Descale daily."), doc("toaster", "No crumbs.")])
    finally:
        services.index.upsert = upsert  # type: ignore[method-assign]
        kb._release = real_release  # type: ignore[method-assign]
    assert report.updated == ["toaster"]
    assert pending(services) == 0
