"""The dense index keeps live chunks in memory by id: a repeated search reads nothing back
from Chroma, an edited article is searched in its new version at once, and chunks that were
not live when read (written ahead of a flip, retired) are never kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.models.fake import HashingEmbedder
from core.types import Visibility
from knowledge.documents import Document
from knowledge.index.base import Filters
from knowledge.index.chroma import ChromaIndex
from server.container import Services
from tests.conftest import TENANT, make_settings

PUBLIC = frozenset({Visibility.public})


def _gets(index: ChromaIndex, calls: list[list[str]]) -> None:
    """Record the ids every collection ``get`` of a query asks Chroma for."""
    original = index._read_chunks

    def spy(col: Any, ids: list[str], filters: Filters) -> Any:
        real_get = col.get

        class Col:
            name = col.name

            def get(self, *, ids: list[str], include: list[str]) -> Any:
                calls.append(list(ids))
                return real_get(ids=ids, include=include)

        return original(Col(), ids, filters)

    index._read_chunks = spy  # type: ignore[method-assign]


def test_repeated_search_reads_chunks_from_memory(services: Services) -> None:
    assert isinstance(services.index, ChromaIndex)
    services.kb.load_documents(TENANT, [Document(id="kettle", title="Kettle", body="# Kettle\n\nDescale monthly.")])
    calls: list[list[str]] = []
    _gets(services.index, calls)
    dense = services.retriever.with_mode("dense")
    first = dense.search("kettle descaling", k=5, filters=Filters(TENANT, PUBLIC))
    second = dense.search("kettle descaling", k=5, filters=Filters(TENANT, PUBLIC))
    assert [(p.chunk_id, p.text) for p in first] == [(p.chunk_id, p.text) for p in second]
    assert len(calls) == 1 and calls[0]  # the first search read the chunks, the second none


def test_an_edit_is_searched_in_its_new_version(services: Services) -> None:
    dense = services.retriever.with_mode("dense")
    filters = Filters(TENANT, PUBLIC)
    for version, text in enumerate(("Descale monthly.", "Descale every week with vinegar."), start=1):
        services.kb.load_documents(TENANT, [Document(id="kettle", title="Kettle", body=f"# Kettle\n\n{text}")])
        found = [p for p in dense.search("kettle descaling", k=5, filters=filters) if p.article_id == "kettle"]
        assert found and {p.version for p in found} == {version}
        assert all(text in p.text for p in found)


def test_chunks_not_live_when_read_are_not_kept(services: Services) -> None:
    index = services.index
    assert isinstance(index, ChromaIndex)
    services.kb.load_documents(TENANT, [Document(id="kettle", title="Kettle", body="# Kettle\n\nDescale monthly.")])
    chunk = index.chunks(TENANT)[0]
    vector = services.embedder.embed([chunk.embedding_text()])[0]
    # A search without a live snapshot (an admin tool) reads the chunks but keeps none of them.
    assert index.query(vector, 5, Filters(TENANT, PUBLIC))
    assert not index._chunks
    services.retriever.with_mode("dense").search("kettle", k=5, filters=Filters(TENANT, PUBLIC))
    assert index._chunks  # a live snapshot: kept
    index.delete(TENANT, [chunk.id])
    assert all(key[1] != chunk.id for key in index._chunks)


def test_an_article_deleted_and_written_again_elsewhere_is_not_served_from_memory(tmp_path: Path) -> None:
    """Another worker deletes an article and loads it again: it continues at version 2 (new
    chunk ids, ``knowledge/numbering.py``), and this worker, which kept the old chunks, answers
    from the new text, even when it never searched in between."""
    settings = make_settings(tmp_path)
    a = Services(settings, embedder_override=HashingEmbedder())
    b = Services(settings, embedder_override=HashingEmbedder())
    try:
        a.store.ensure_tenant(TENANT, "Larkspur", {})
        filters = Filters(TENANT, PUBLIC)
        a.kb.load_documents(TENANT, [Document(id="kettle", title="Kettle", body="# Kettle\n\nDescale monthly.")])
        first = b.retriever.with_mode("dense").search("kettle descaling", k=5, filters=filters)
        assert first and all("monthly" in p.text for p in first)  # worker B keeps these chunks
        a.kb.delete(TENANT, "kettle")
        a.kb.load_documents(TENANT, [Document(id="kettle", title="Kettle", body="# Kettle\n\nDescale weekly.")])
        again = b.retriever.with_mode("dense").search("kettle descaling", k=5, filters=filters)
        assert again and {p.version for p in again} == {2}  # never the ids of the deleted text
        assert all("weekly" in p.text for p in again)
    finally:
        a.close()
        b.close()
