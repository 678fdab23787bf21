"""Two loads of one article at once (two editors, a sync and an edit, two workers): both
number the same next version and write their chunks under the same ids
(``article::vN::n``) before either commits. The second commit is refused by the unique
(article, version) row, and its clean-up deletes those ids: the chunks of the version that
won. The article is then live with no chunks in the index (found by no search), and loading
the same file again reports it unchanged without writing them back.

Known, not fixed (review of 92f410a): the numbers would have to be reserved in the database
before the chunks are written. The interleaving is forced here as in
``test_deleted_articles.py``: a load that read the numbers before another load committed."""

from __future__ import annotations

import pytest

from core.types import Visibility
from knowledge.documents import Document
from knowledge.index.base import Filters
from server.container import Services
from tests.conftest import TENANT

ALL = Filters(TENANT, frozenset({Visibility.public, Visibility.internal}))
pytestmark = pytest.mark.xfail(strict=True, reason="concurrent loads of one article share chunk ids (see docstring)")


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
    _late_load(services, stale, kettle("Descale daily."))
    assert kb.get_article(TENANT, "kettle").version == 2
    assert kb.load_documents(TENANT, [kettle("Descale weekly.")]).unchanged == ["kettle"]
    assert _searchable(services) == [(2, "Descale weekly.")]


def test_an_edit_in_flight_while_the_article_is_deleted_and_loaded_again(services: Services) -> None:
    """The interleaving tombstones add: the edit read v1 (writes v2); meanwhile the article
    is deleted (tombstone: 1) and loaded again, which numbers it v2 as well."""
    kb = services.kb
    kb.load_documents(TENANT, [kettle("Descale monthly.")])
    stale = kb._current(TENANT)
    kb.delete(TENANT, "kettle")
    assert kb.load_documents(TENANT, [kettle("Descale weekly.")]).versions == {"kettle": 2}
    _late_load(services, stale, kettle("Descale daily."))
    assert _searchable(services) == [(2, "Descale weekly.")]
