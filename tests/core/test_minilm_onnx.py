"""MiniLM on ONNX Runtime (core/models/minilm_onnx.py): what the runtime accepts, how its cache
file is named, and the pooling formula. No model is loaded here; the real model is compared
with sentence-transformers in tests/integration/test_minilm_onnx.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigurationError, ModelUnavailable
from core.models.embed import EMBEDDERS, MiniLMEmbedder, bundled_minilm_path
from core.models.minilm_onnx import model_key, pool_and_normalise, read_pipeline
from core.settings import Settings


def test_bundled_pipeline_is_mean_pooled_bert_truncated_at_256() -> None:
    pipeline = read_pipeline(bundled_minilm_path())
    assert (pipeline.max_seq_length, pipeline.hidden_size, pipeline.lowercase) == (256, 384, False)


def _small_folder(tmp_path: Path) -> Path:
    """A copy of the bundled folder's small files, with a made-up weights file."""
    src = bundled_minilm_path()
    folder = tmp_path / "model"
    shutil.copytree(src, folder, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    (folder / "model.safetensors").write_bytes(bytes(range(256)) * 12_000)  # 3 MB: start, middle and end differ
    return folder


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: (f / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True})), "mean"),
        (
            lambda f: (f / "modules.json").write_text(
                json.dumps([{"type": "x.Transformer", "path": ""}, {"type": "x.Dense", "path": "2_Dense"}])
            ),
            "Pooling",
        ),
        (lambda f: (f / "modules.json").unlink(), "pipeline"),
    ],
    ids=["cls-pooling", "dense-layer", "no-modules-file"],
)
def test_pipelines_this_runtime_would_get_wrong_are_refused(tmp_path: Path, change: object, message: str) -> None:
    folder = _small_folder(tmp_path)
    change(folder)  # type: ignore[operator]
    with pytest.raises(ModelUnavailable, match=message):
        read_pipeline(folder)


def test_cache_key_follows_config_and_weights_content(tmp_path: Path) -> None:
    folder = _small_folder(tmp_path)
    key = model_key(folder)
    assert len(key) == 16 and model_key(folder) == key
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # the last byte of the weights
    weights.write_bytes(bytes(data))
    assert model_key(folder) != key
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert model_key(folder) == key
    (folder / "config.json").write_text((folder / "config.json").read_text().replace("384", "385"))
    assert model_key(folder) != key
    weights.unlink()
    with pytest.raises(ModelUnavailable, match="weights"):
        model_key(folder)


def test_mean_pooling_ignores_padding_and_normalises() -> None:
    hidden = np.array([[[3.0, 4.0], [100.0, 100.0]], [[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]])
    mask = np.array([[1, 0], [1, 1], [1, 1]])
    out = pool_and_normalise(hidden, mask)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0], [0.6, 0.8], rtol=1e-6)  # the padded token (100, 100) is left out
    np.testing.assert_allclose(out[1], [2**-0.5, 2**-0.5], rtol=1e-6)
    assert (out[2] == 0).all()  # a zero vector stays zero, no NaN


def test_runtime_setting_defaults_to_onnx_and_refuses_others(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert Settings().embedder_runtime == "onnx"
    monkeypatch.setenv("SWITCHBOARD_EMBEDDER_RUNTIME", "torch")
    assert Settings().embedder_runtime == "torch"
    monkeypatch.setenv("SWITCHBOARD_EMBEDDER_RUNTIME", "tensorflow")
    with pytest.raises(ValueError, match="embedder_runtime"):
        Settings()
    with pytest.raises(ConfigurationError, match="SWITCHBOARD_EMBEDDER_RUNTIME"):
        MiniLMEmbedder(runtime="tensorflow")  # type: ignore[arg-type]
    monkeypatch.delenv("SWITCHBOARD_EMBEDDER_RUNTIME")
    monkeypatch.delenv("SWITCHBOARD_EMBEDDER_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    embedder = EMBEDDERS.create("minilm", Settings(data_dir=tmp_path, embedder_threads=2))
    assert isinstance(embedder, MiniLMEmbedder)
    shared = tmp_path / "xdg" / "switchboard" / "models"  # the machine's cache, not the data dir
    assert (embedder.runtime, embedder.cache_dir, embedder.threads) == ("onnx", shared, 2)
    assert embedder.describe()["runtime"] == "onnx"
    elsewhere = Settings(data_dir=tmp_path, embedder_cache_dir=tmp_path / "shared")
    assert elsewhere.resolved_embedder_cache_dir == tmp_path / "shared"


def test_a_process_without_a_home_starts_and_exports_without_a_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A container run with an arbitrary uid: HOME unset and no /etc/passwd entry, so
    Path.home() raises RuntimeError. Creating the embedder (the server's start) raised it."""
    import pwd

    from core.models import minilm_onnx

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    for name in ("HOME", "XDG_CACHE_HOME", "SWITCHBOARD_EMBEDDER_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_embedder_cache_dir is None
    embedder = EMBEDDERS.create("minilm", settings)
    assert isinstance(embedder, MiniLMEmbedder) and embedder.cache_dir is None

    opened: list[Path | None] = []

    class Loaded:
        def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
            return np.ones((len(texts), 384), dtype=np.float32)

    def fake_open(folder: Path, cache_dir: Path | None, threads: int = 1) -> Loaded:
        opened.append(cache_dir)
        return Loaded()

    monkeypatch.setattr(minilm_onnx.OnnxMiniLM, "open", staticmethod(fake_open))
    with caplog.at_level("WARNING", logger="switchboard.embedder"):
        assert embedder.embed(["hello"])[0][0] == 1.0
    assert opened == [None]  # exported into a temporary folder: still ONNX, same vectors
    assert embedder.describe()["runtime"] == "onnx"
    assert [r.message for r in caplog.records if "SWITCHBOARD_EMBEDDER_CACHE_DIR" in r.message]


def test_an_export_deletes_temporary_files_left_by_killed_exports(tmp_path: Path) -> None:
    """A process killed during its export (SIGKILL, the OOM killer) leaves its ~90 MB temporary
    file; each one stayed in the cache for good. A fresh one (another process exporting now) stays."""
    import os
    import time

    from core.models import minilm_onnx

    path = tmp_path / "minilm-0123456789abcdef.onnx"
    stale = tmp_path / ".minilm-0123456789abcdef.killed.tmp"
    fresh = tmp_path / ".minilm-0123456789abcdef.running.tmp"
    other = tmp_path / ".minilm-fedcba9876543210.old.tmp"  # another model's: not this export's business
    for f in (stale, fresh, other):
        f.write_bytes(b"partial")
    old = time.time() - 3600  # an hour: an export takes seconds
    os.utime(stale, (old, old))
    os.utime(other, (old, old))

    def export(folder: Path, dest: Path, threads: int) -> None:
        dest.write_bytes(b"graph")

    minilm_onnx._export_atomically(export, tmp_path, path, 1)
    assert path.read_bytes() == b"graph"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, fresh.name, other.name])
