"""Two loads of one article at once (two editors, a sync and an edit, two workers). Each
load reserves its version number in the database (its version row) before it writes any
chunk, so the two never write under the same ids (``article::vN::n``); the one with the
higher number that commits is live, and a load whose number was passed by a newer live
version is not kept (its chunks and its number go, the editor is told).

Before: both numbered the same next version, the second commit was refused, and its clean-up
deleted the winner's chunks: the article was live but found by no search (review of
92f410a). The interleaving is forced as in ``test_deleted_articles.py``: a load that read
the numbers before another load committed."""

from __future__ import annotations

from typing import Any

from core.types import Visibility
from knowledge.documents import Document
from knowledge.index.base import Filters
from server.container import Services
from tests.conftest import TENANT

ALL = Filters(TENANT, frozenset({Visibility.public, Visibility.internal}))


def kettle(text: str) -> Document:
    return Document(id="kettle", title="Kettle", body=f"# Kettle\n\n{text}")


def _late_load(services: Services, stale: object, doc: Document) -> None:
    kb = services.kb
    real = kb._current
    kb._current = lambda tenant_id: stale  # type: ignore[assignment,method-assign,return-value]
    try:
        kb.load_documents(TENANT, [doc])
    finally:
        kb._current = real  # type: ignore[method-assign]


def _searchable(services: Services) -> list[tuple[int, str]]:
    found = services.retriever.with_mode("dense").search("descale kettle", k=5, filters=ALL)
    return [(p.version, p.text) for p in found if p.article_id == "kettle"]


def test_two_edits_at_once_leave_the_winner_searchable(services: Services) -> None:
    kb = services.kb
    kb.load_documents(TENANT, [kettle("Descale monthly.")])
    stale = kb._current(TENANT)  # a slow edit read kettle at v1: it writes v2 too
    assert kb.load_documents(TENANT, [kettle("Descale weekly.")]).versions == {"kettle": 2}
    _late_load(services, stale, kettle("Descale daily."))  # its v2 is taken: it reserves v3
    assert kb.get_article(TENANT, "kettle").version == 3
    assert _searchable(services) == [(3, "Descale daily.")]  # the last commit is live, v2 retired
    assert {c.id for c in services.index.chunks(TENANT)} == {"kettle::v3::0"}
    assert kb.load_documents(TENANT, [kettle("Descale daily.")]).unchanged == ["kettle"]


def test_an_edit_in_flight_while_the_article_is_deleted_and_loaded_again(services: Services) -> None:
    """The interleaving tombstones add: the edit read v1 (writes v2); meanwhile the article
    is deleted (tombstone: 1) and loaded again, which numbers it v2 as well."""
    kb = services.kb
    kb.load_documents(TENANT, [kettle("Descale monthly.")])
    stale = kb._current(TENANT)
    kb.delete(TENANT, "kettle")
    assert kb.load_documents(TENANT, [kettle("Descale weekly.")]).versions == {"kettle": 2}
    _late_load(services, stale, kettle("Descale daily."))
    assert _searchable(services) == [(3, "Descale daily.")]
    assert [(v.version, v.live) for v in kb.versions(TENANT, "kettle")] == [(2, False), (3, True)]


def test_a_load_passed_by_a_newer_live_version_is_not_kept(services: Services) -> None:
    """A load that reserved v2 and is still writing its chunks while another load reserves
    v3 and commits: v3 stays live; the slower load's chunks and its number go, and the
    editor is told."""
    kb = services.kb
    kb.load_documents(TENANT, [kettle("Descale monthly.")])
    upsert = services.index.upsert
    calls = {"n": 0}

    def slow_upsert(tenant_id: str, chunks: Any, vectors: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:  # the first load is writing: the second one runs whole meanwhile
            assert kb.load_documents(TENANT, [kettle("Descale weekly.")]).versions == {"kettle": 3}
        upsert(tenant_id, chunks, vectors)

    services.index.upsert = slow_upsert  # type: ignore[method-assign]
    report = kb.load_documents(TENANT, [kettle("Descale daily.")])
    services.index.upsert = upsert  # type: ignore[method-assign]
    assert report.versions == {} and "another load made version 3" in next(iter(report.errors.values()))
    assert kb.get_article(TENANT, "kettle").version == 3
    assert _searchable(services) == [(3, "Descale weekly.")]
    assert {c.id for c in services.index.chunks(TENANT)} == {"kettle::v3::0"}
    assert [(v.version, v.live) for v in kb.versions(TENANT, "kettle")] == [(1, False), (3, True)]
