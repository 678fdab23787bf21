"""Eval runs onboard into throwaway data dirs but keep the exported embedder where the
process's own data dir keeps it, so no run exports MiniLM again (~5 s and a torch import)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models.embed import EMBEDDERS, MiniLMEmbedder
from server.cli.evals import eval_settings


def test_throwaway_data_dirs_share_one_embedder_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "var"))
    first, second = eval_settings(tmp_path / "run1"), eval_settings(tmp_path / "run2")
    assert first.data_dir != second.data_dir
    assert first.resolved_embedder_cache_dir == second.resolved_embedder_cache_dir == tmp_path / "var" / "models"
    embedder = EMBEDDERS.create("minilm", first)
    assert isinstance(embedder, MiniLMEmbedder) and embedder.cache_dir == tmp_path / "var" / "models"

    monkeypatch.setenv("SWITCHBOARD_EMBEDDER_CACHE_DIR", str(tmp_path / "models"))
    assert eval_settings(tmp_path / "run3").resolved_embedder_cache_dir == tmp_path / "models"
