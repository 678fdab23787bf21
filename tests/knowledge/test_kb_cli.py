"""``switchboard kb load / sync / list / show / search / delete`` as an editor runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from server.cli.main import app
from tests.conftest import DEMO_DIR
from tests.knowledge.samples import FAQ_CSV, MARKDOWN


def test_editor_cli_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SWITCHBOARD_EMBEDDER_BACKEND", "fake")
    monkeypatch.setenv("SWITCHBOARD_CHAT_BACKEND", "fake")
    monkeypatch.setenv("SWITCHBOARD_ENVIRONMENT", "test")
    content = tmp_path / "content"
    content.mkdir()
    (content / "returns.md").write_text(MARKDOWN)
    (content / "shipping.csv").write_text(FAQ_CSV)
    (content / "notes.xyz").write_text("not a KB file")
    runner = CliRunner()
    refused = runner.invoke(app, ["kb", "load", str(content)])
    assert refused.exit_code == 2 and "tenant apply" in refused.output  # the tenant comes first
    assert runner.invoke(app, ["tenant", "apply", str(DEMO_DIR / "tenant.yaml")]).exit_code == 0

    loaded = runner.invoke(app, ["kb", "load", str(content)])
    assert loaded.exit_code == 1  # one bad file: reported, the rest loaded
    assert "3 added" in loaded.output and "unsupported file type" in loaded.output

    listed = runner.invoke(app, ["kb", "list"])
    assert listed.exit_code == 0 and "returns-policy" in listed.output and "3 articles" in listed.output

    shown = runner.invoke(app, ["kb", "show", "returns-policy"])
    assert shown.exit_code == 0 and "live version: v1" in shown.output and "How long do I have" in shown.output

    found = runner.invoke(app, ["kb", "search", "ship to Norway", "--public-only"])
    assert found.exit_code == 0 and "1. shipping-do-you-ship-to-norway v1 [public]" in found.output
    assert "override a shipping fee" not in found.output  # internal FAQ row stays hidden

    (content / "notes.xyz").unlink()
    (content / "returns.md").write_text(MARKDOWN.replace("30 days", "60 days"))
    (content / "shipping.csv").write_text(FAQ_CSV.splitlines()[0] + "\n" + FAQ_CSV.splitlines()[1] + "\n")
    synced = runner.invoke(app, ["kb", "sync", str(content)])
    assert synced.exit_code == 0, synced.output
    assert "0 added, 1 updated, 1 unchanged, 1 deleted" in synced.output

    deleted = runner.invoke(app, ["kb", "delete", "returns-policy"])
    assert deleted.exit_code == 0 and "deleted returns-policy" in deleted.output
    missing = runner.invoke(app, ["kb", "show", "returns-policy"])
    assert missing.exit_code == 1 and "No article 'returns-policy'" in missing.output
