"""Versioned loading: unchanged content embeds nothing, a change replaces the chunks, a
delete removes chunks, vectors and keyword entries; the load report names bad files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from core.errors import NotFound
from core.models.fake import HashingEmbedder
from core.types import Visibility
from knowledge.documents import Document
from knowledge.index.base import Filters
from server.container import Services
from tests.conftest import TENANT
from tests.knowledge.samples import FAQ_CSV, HTML, MARKDOWN, write_docx, write_pdf

ALL = frozenset({Visibility.public, Visibility.internal})


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        self.texts = 0
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        self.calls += 1
        return super().embed(texts)


@pytest.fixture
def counting(services: Services) -> CountingEmbedder:
    embedder = CountingEmbedder()
    services.kb.embedder = embedder
    return embedder


def doc(article_id: str, body: str, **kw: object) -> Document:
    return Document(id=article_id, title=article_id.title(), body=body, **kw)  # type: ignore[arg-type]


def search(
    services: Services, q: str, *, tenant: str = TENANT, vis: frozenset[Visibility] = ALL, mode: str = "hybrid"
) -> list[str]:
    retriever = services.retriever.with_mode(mode)
    return [f"{p.article_id}@v{p.version}" for p in retriever.search(q, k=10, filters=Filters(tenant, vis))]


def test_unchanged_content_embeds_nothing_and_changes_replace_chunks(
    services: Services, counting: CountingEmbedder
) -> None:
    kb = services.kb
    first = kb.load_documents(TENANT, [doc("kettle", "# Kettle\n\nDescale the kettle monthly with citric acid.")])
    assert first.added == ["kettle"] and first.versions == {"kettle": 1}
    embedded = counting.texts
    again = kb.load_documents(TENANT, [doc("kettle", "# Kettle\n\nDescale the kettle monthly with citric acid.")])
    assert again.unchanged == ["kettle"] and again.chunks_embedded == 0 and counting.texts == embedded
    changed = kb.load_documents(TENANT, [doc("kettle", "# Kettle\n\nDescale the kettle weekly with vinegar.")])
    assert changed.updated == ["kettle"] and changed.versions == {"kettle": 2}
    assert search(services, "descale kettle vinegar") == ["kettle@v2"]  # one version, never both
    assert search(services, "citric acid", mode="keyword") == []  # the old version's words are gone from both indexes
    assert {c.version for c in services.index.chunks(TENANT)} == {2}
    assert [v.version for v in kb.versions(TENANT, "kettle")] == [1, 2]
    assert [v.live for v in kb.versions(TENANT, "kettle")] == [False, True]


def test_batches_embed_many_articles_per_call(services: Services, counting: CountingEmbedder) -> None:
    docs = [doc(f"a{n}", f"# A{n}\n\nParagraph number {n} about topic {n}.") for n in range(50)]
    report = services.kb.load_documents(TENANT, docs)
    assert len(report.added) == 50 and counting.calls == 1


def test_delete_removes_chunks_vectors_and_keyword_entries(services: Services) -> None:
    kb = services.kb
    kb.load_documents(
        TENANT, [doc("toaster", "# Toaster\n\nThe toaster crumb tray slides out."), doc("oven", "# Oven\n\nPreheat.")]
    )
    assert search(services, "crumb tray", mode="keyword") == ["toaster@v1"]
    kb.delete(TENANT, "toaster")
    assert search(services, "crumb tray", mode="keyword") == []
    assert "toaster@v1" not in search(services, "crumb tray", mode="dense")
    assert all(c.article_id != "toaster" for c in services.index.chunks(TENANT))
    assert services.keyword.count(TENANT) == services.index.count(TENANT) == 1
    with pytest.raises(NotFound):
        kb.get_article(TENANT, "toaster")
    readded = kb.load_documents(TENANT, [doc("toaster", "# Toaster\n\nNew toaster text.")])
    assert readded.added == ["toaster"] and readded.versions == {"toaster": 2}  # numbers continue


def test_bad_files_are_reported_and_the_rest_loads(services: Services, tmp_path: Path) -> None:
    tmp_path = tmp_path / "content"
    tmp_path.mkdir()
    (tmp_path / "returns.md").write_text(MARKDOWN)
    (tmp_path / "gift.html").write_text(HTML)
    (tmp_path / "shipping.csv").write_text(FAQ_CSV)
    write_pdf(tmp_path / "guide.pdf", ["Kettle guide", "Descale monthly."])
    write_docx(tmp_path / "warranty.docx")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\ngarbage without objects")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "huge.txt").write_text("word " * 12_000)
    (tmp_path / "copy.md").write_text(MARKDOWN.replace("30 days", "thirty days"))  # same id as returns.md
    services.kb.max_bytes = 50_000
    report = services.kb.load_paths(TENANT, [tmp_path])
    errors = {Path(k).name: v for k, v in report.errors.items()}
    assert set(errors) == {"broken.pdf", "empty.txt", "image.png", "huge.txt", "returns.md"}
    assert "corrupt" in errors["broken.pdf"] and "empty" in errors["empty.txt"]
    assert "unsupported file type" in errors["image.png"] and "limit" in errors["huge.txt"]
    assert "duplicate article id 'returns-policy'" in errors["returns.md"]
    assert sorted(report.added) == sorted(
        [
            "returns-policy",
            "gift",
            "shipping-do-you-ship-to-norway",
            "shipping-how-do-agents-override-a-shipping-fee",
            "guide",
            "warranty",
        ]
    )
    indexed = {c.article_id for c in services.index.chunks(TENANT)}
    assert indexed == set(report.added)  # nothing half-indexed from the bad files


def test_sync_adds_changes_and_deletes_to_match_the_folder(services: Services, tmp_path: Path) -> None:
    tmp_path = tmp_path / "content"
    tmp_path.mkdir()
    (tmp_path / "a.md").write_text("# A\n\nAlpha text.")
    (tmp_path / "b.md").write_text("# B\n\nBravo text.")
    first = services.kb.sync_folder(TENANT, tmp_path)
    assert sorted(first.added) == ["a", "b"]
    (tmp_path / "a.md").write_text("# A\n\nAlpha text, revised.")
    (tmp_path / "b.md").unlink()
    (tmp_path / "c.md").write_text("# C\n\nCharlie text.")
    second = services.kb.sync_folder(TENANT, tmp_path)
    assert (second.added, second.updated, second.deleted) == (["c"], ["a"], ["b"])
    assert [a.id for a in services.kb.list_articles(TENANT)] == ["a", "c"]
    assert search(services, "bravo", mode="keyword") == []
    third = services.kb.sync_folder(TENANT, tmp_path)
    assert sorted(third.unchanged) == ["a", "c"] and third.chunks_embedded == 0


def test_answer_cites_the_live_version(services: Services) -> None:
    services.kb.load_documents(TENANT, [doc("warranty", "# Warranty\n\nTwo years warranty on kettles.")])
    services.kb.load_documents(TENANT, [doc("warranty", "# Warranty\n\nThree years warranty on kettles.")])
    [passage] = services.retriever.search("warranty kettles", k=1, filters=Filters(TENANT))
    assert (passage.article_id, passage.version) == ("warranty", 2) and "Three years" in passage.text
