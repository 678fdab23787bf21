"""Eval runs onboard into throwaway data dirs but share the machine's exported embedder, so no
run exports MiniLM again (~5 s and a torch import)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models.embed import EMBEDDERS, MiniLMEmbedder
from server.cli.evals import eval_settings


def test_throwaway_data_dirs_share_one_embedder_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SWITCHBOARD_EMBEDDER_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    shared = tmp_path / "xdg" / "switchboard" / "models"
    first, second = eval_settings(tmp_path / "run1"), eval_settings(tmp_path / "run2")
    assert first.data_dir != second.data_dir
    assert first.resolved_embedder_cache_dir == second.resolved_embedder_cache_dir == shared
    embedder = EMBEDDERS.create("minilm", first)
    assert isinstance(embedder, MiniLMEmbedder) and embedder.cache_dir == shared

    monkeypatch.setenv("SWITCHBOARD_EMBEDDER_CACHE_DIR", str(tmp_path / "models"))
    assert eval_settings(tmp_path / "run3").resolved_embedder_cache_dir == tmp_path / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.delenv("SWITCHBOARD_EMBEDDER_CACHE_DIR")
    home_cache = Path.home() / ".cache" / "switchboard" / "models"
    assert eval_settings(tmp_path / "run4").resolved_embedder_cache_dir == home_cache
