"""The bundled MiniLM on ONNX Runtime for real: the same vectors as sentence-transformers on
torch, exported once into the cache dir and only opened afterwards, a broken cache file exported
again, and torch used (with one warning) when ONNX Runtime or the export fails."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import core.models.minilm_onnx as minilm_onnx
from core.models.embed import MiniLMEmbedder, bundled_minilm_path
from core.models.minilm_onnx import OnnxMiniLM

pytestmark = pytest.mark.integration

TEXTS = [
    "",
    " ",
    "?",
    "  Where is my order?  ",
    "How do I return a damaged item?",
    "Can I change the delivery address after checkout",
    "Crème brûlée, naïve café, Ångström – über größe",
    "Привет, где моя посылка?",
    "注文した商品はいつ届きますか",
    "مرحبا، أين طلبي؟",
    "emoji 😀🎉 and a zero\u200bwidth space, a tab\tand\nnewline",
    "UPPER lower MiXeD CaSe",
    "refund " * 300,  # 2,100 characters: truncated at 256 tokens
    "x" * 2000,  # one long word: word pieces, truncated
] + [f"Question {i}: what happens to my {w} after {i % 9} days?" for i, w in enumerate(["parcel", "invoice"] * 12)]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def onnx(cache_dir: Path) -> MiniLMEmbedder:
    embedder = MiniLMEmbedder(runtime="onnx", cache_dir=cache_dir)
    embedder.embed(["load"])
    assert embedder.describe()["runtime"] == "onnx"
    return embedder


@pytest.fixture(scope="module")
def torch_embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder(runtime="torch")


def test_onnx_vectors_equal_torch_vectors(onnx: MiniLMEmbedder, torch_embedder: MiniLMEmbedder) -> None:
    assert len(TEXTS) > 36 and max(len(t) for t in TEXTS) >= 2000
    expected = torch_embedder.embed(TEXTS)
    assert torch_embedder.describe()["runtime"] == "torch"
    np.testing.assert_allclose(np.linalg.norm(expected, axis=1), 1.0, atol=1e-5)
    batched = onnx.embed(TEXTS)  # padded batches
    alone = np.stack([onnx._encode([t])[0] for t in TEXTS])  # one text per run, no padding
    assert batched.shape == alone.shape == (len(TEXTS), 384) and batched.dtype == np.float32
    np.testing.assert_allclose(batched, expected, atol=1e-5)
    np.testing.assert_allclose(alone, expected, atol=1e-5)
    # Truncation: text beyond the 256th token changes nothing, in either runtime.
    longer = onnx._encode(["refund " * 300 + "warranty claim"])[0]
    np.testing.assert_allclose(longer, expected[TEXTS.index("refund " * 300)], atol=1e-5)


def test_cache_file_is_made_once_and_only_opened_later(onnx: MiniLMEmbedder, cache_dir: Path) -> None:
    files = sorted(p.name for p in cache_dir.iterdir())
    assert len(files) == 1 and files[0].startswith("minilm-") and files[0].endswith(".onnx")  # no temp file left
    assert (cache_dir / files[0]).stat().st_mode & 0o777 == 0o644  # readable by workers running as another user

    def no_export(folder: Path, dest: Path, threads: int) -> None:
        raise AssertionError("exported again although the file exists")

    started = time.perf_counter()
    again = OnnxMiniLM.open(bundled_minilm_path(), cache_dir, export=no_export)
    assert not again.exported and again.path == cache_dir / files[0]
    assert time.perf_counter() - started < 10
    np.testing.assert_allclose(again.encode(TEXTS[:8]), onnx.embed(TEXTS[:8]), atol=1e-6)


def _copying_exporter(good: Path, calls: list[Path]) -> minilm_onnx.Exporter:
    """An exporter that writes a known-good export slowly (so that concurrent loads overlap)."""

    def export(folder: Path, dest: Path, threads: int) -> None:
        calls.append(dest)
        with good.open("rb") as src, dest.open("wb") as out:
            while chunk := src.read(8 << 20):
                out.write(chunk)
                time.sleep(0.01)

    return export


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_broken_cache_file_is_exported_again(
    onnx: MiniLMEmbedder, cache_dir: Path, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    (good,) = cache_dir.iterdir()
    mine = tmp_path / "models"
    mine.mkdir()
    broken = mine / good.name
    data = good.read_bytes()
    broken.write_bytes({"garbage": b"not a model" * 1000, "truncated": data[: len(data) // 2], "empty": b""}[damage])
    calls: list[Path] = []
    with caplog.at_level(logging.WARNING, logger="switchboard.embedder"):
        model = OnnxMiniLM.open(bundled_minilm_path(), mine, export=_copying_exporter(good, calls))
    assert model.exported and len(calls) == 1
    assert "unreadable" in caplog.text
    assert broken.read_bytes() == data and [p.name for p in mine.iterdir()] == [good.name]
    np.testing.assert_allclose(model.encode(TEXTS[:8]), onnx.embed(TEXTS[:8]), atol=1e-6)


def test_two_workers_starting_at_once_never_read_half_a_file(
    onnx: MiniLMEmbedder, cache_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each exporting worker writes its own temporary file and renames it: a worker that starts
    while another is still writing finds no file (and exports too), never a partial one."""
    (good,) = cache_dir.iterdir()
    calls: list[Path] = []
    export = _copying_exporter(good, calls)
    results: list[OnnxMiniLM | BaseException] = []

    def start() -> None:
        try:
            results.append(OnnxMiniLM.open(bundled_minilm_path(), tmp_path, export=export))
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            results.append(exc)

    workers = [threading.Thread(target=start) for _ in range(3)]
    with caplog.at_level(logging.WARNING, logger="switchboard.embedder"):
        for w in workers:
            w.start()
            time.sleep(0.02)
        for w in workers:
            w.join()
    assert all(isinstance(r, OnnxMiniLM) for r in results), results
    assert len(calls) >= 2 and "unreadable" not in caplog.text  # they overlapped; none saw a partial file
    assert [p.name for p in tmp_path.iterdir()] == [good.name]  # each wrote its own temp file, renamed


def test_falls_back_to_torch_with_one_warning_when_onnxruntime_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture, torch_embedder: MiniLMEmbedder
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    embedder = MiniLMEmbedder(runtime="onnx", cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="switchboard.embedder"):
        vectors = embedder.embed(TEXTS[:6])
        embedder.embed(TEXTS[6:10])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "import of onnxruntime" in warnings[0] and warnings[0].endswith("using torch")
    assert embedder.describe()["runtime"] == "torch" and not list(tmp_path.iterdir())
    np.testing.assert_allclose(vectors, torch_embedder.embed(TEXTS[:6]), atol=1e-6)


def test_falls_back_to_torch_when_the_export_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_export(folder: Path, dest: Path, threads: int) -> None:
        dest.write_bytes(b"half")
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(minilm_onnx, "export_model", broken_export)
    embedder = MiniLMEmbedder(runtime="onnx", cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="switchboard.embedder"):
        vector = embedder.embed(["Where is my order?"])
    assert "exporter crashed" in caplog.text and embedder.describe()["runtime"] == "torch"
    assert vector.shape == (1, 384) and abs(float(np.linalg.norm(vector)) - 1) < 1e-5
    assert not list(tmp_path.iterdir())  # the half-written temp file was removed


def test_without_a_cache_dir_the_export_stays_in_a_temporary_folder(onnx: MiniLMEmbedder) -> None:
    model = OnnxMiniLM.open(bundled_minilm_path(), None)
    assert model.exported and model.path is None
    np.testing.assert_allclose(model.encode(TEXTS[:4]), onnx.embed(TEXTS[:4]), atol=1e-6)
