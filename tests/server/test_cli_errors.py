"""The ``switchboard`` entry point turns a configuration problem into one line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.cli.main import main


def test_a_missing_default_tenant_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no demo/tenant.yaml here
    for key in ("SWITCHBOARD_DEFAULT_TENANT", "SWITCHBOARD_DEMO_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SWITCHBOARD_ENVIRONMENT", "test")
    monkeypatch.setenv("SWITCHBOARD_EMBEDDER_BACKEND", "fake")
    monkeypatch.setenv("SWITCHBOARD_CHAT_BACKEND", "fake")
    monkeypatch.setattr("sys.argv", ["switchboard", "kb", "list"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Set SWITCHBOARD_DEFAULT_TENANT") and "Traceback" not in err


def test_kb_list_for_an_unknown_tenant_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SWITCHBOARD_ENVIRONMENT", "test")
    monkeypatch.setenv("SWITCHBOARD_EMBEDDER_BACKEND", "fake")
    monkeypatch.setenv("SWITCHBOARD_CHAT_BACKEND", "fake")
    monkeypatch.setattr("sys.argv", ["switchboard", "kb", "list", "--tenant", "nobody"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert "No tenant 'nobody'" in capsys.readouterr().err
