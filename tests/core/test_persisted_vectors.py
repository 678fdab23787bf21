"""KB text vectors kept on disk: computed once per text for every process, never a customer's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from core.models.fake import CountingEmbedder, HashingEmbedder
from core.models.persisted import PersistedEmbedder, VectorFile, text_key, vector_file_for

KB = ["Returns: You can return an item within 30 days.", "Shipping: Orders ship in 2 working days."]


def _embedder(path: Path) -> tuple[PersistedEmbedder, CountingEmbedder]:
    inner = CountingEmbedder()
    return PersistedEmbedder(inner, VectorFile(path, inner.dim)), inner


def test_remembered_text_is_embedded_once_for_every_process(tmp_path: Path) -> None:
    path = vector_file_for(tmp_path, HashingEmbedder())
    first, inner1 = _embedder(path)
    assert first.remember(KB) == 2
    assert first.remember(KB) == 0  # stored already: nothing computed again
    expected = HashingEmbedder().embed(KB)
    first.file.close()

    second, inner2 = _embedder(path)  # a new process (a restart, another worker)
    got = second.embed([KB[1], KB[0], KB[1]])
    assert inner2.texts == []  # every vector came from the file
    np.testing.assert_allclose(got, expected[[1, 0, 1]], rtol=0, atol=0)
    assert second.from_file == 3 and second.computed == 0
    assert len(inner1.texts) == 2


def test_text_that_was_not_remembered_is_computed_and_never_written(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    embedder, inner = _embedder(path)
    embedder.remember(KB[:1])
    question = "Can I return the blue jacket I bought with card 4111?"
    out = embedder.embed([question, KB[0]])
    np.testing.assert_allclose(out, HashingEmbedder().embed([question, KB[0]]), rtol=0, atol=0)
    assert inner.texts == [KB[0], question]  # KB[0] by remember, the question by embed
    embedder.file.close()
    with sqlite3.connect(path) as conn:
        keys = {k for (k,) in conn.execute("SELECT key FROM vectors")}
    assert keys == {text_key(KB[0])}  # the customer's words are not on disk


def test_an_unwritable_place_leaves_an_ordinary_embedder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    embedder, inner = _embedder(blocker / "vectors" / "v.sqlite")
    assert embedder.remember(KB) == 2
    np.testing.assert_allclose(embedder.embed(KB), HashingEmbedder().embed(KB), rtol=0, atol=0)
