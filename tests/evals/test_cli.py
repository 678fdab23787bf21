"""``switchboard evals`` exit codes: 2 for a bad suite, 1 for a missed threshold or a regression."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from server.cli import evals as cli
from server.cli.main import app
from tests.evals.fakes import FakeTarget, answer, handoff

runner = CliRunner()


@pytest.fixture
def fake_target(monkeypatch: pytest.MonkeyPatch) -> FakeTarget:
    target = FakeTarget(
        replies={"human": handoff("explicit_request"), "": answer("Returns are free [1].", ("returns-policy",))},
        passages={"return": ["returns-policy"]},
    )
    monkeypatch.setattr(cli, "make_target", lambda settings, url, api_key: target)
    return target


def _suite(tmp_path: Path, threshold: str) -> Path:
    path = tmp_path / "mini.yaml"
    path.write_text(
        "name: mini\n"
        f"thresholds:\n  handoff.recall: '{threshold}'\n"
        "cases:\n"
        "  - id: a\n    turn: 'I want a human'\n    expect: {handoff: true}\n"
        "  - id: b\n    turn: 'can I return this?'\n    expect: {handoff: true, articles: [returns-policy]}\n"
    )
    return path


def test_run_exits_1_when_a_threshold_is_missed(tmp_path: Path, fake_target: FakeTarget) -> None:
    out = tmp_path / "run.json"
    result = runner.invoke(app, ["evals", "run", str(_suite(tmp_path, ">= 0.9")), "--out", str(out), "--quiet"])
    assert result.exit_code == 1, result.output
    assert "[MISS] handoff.recall >= 0.9 (actual 0.5)" in result.output
    assert out.exists() and out.with_suffix(".html").exists()


def test_run_exits_0_when_thresholds_hold(tmp_path: Path, fake_target: FakeTarget) -> None:
    out = tmp_path / "run.json"
    result = runner.invoke(app, ["evals", "run", str(_suite(tmp_path, ">= 0.5")), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "1 pass, 1 fail, 0 error" in result.output


def test_run_exits_2_on_a_malformed_suite_naming_file_line_field(tmp_path: Path, fake_target: FakeTarget) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ncases:\n  - id: a\n    turn: hi\n    expect: {handoff: maybe}\n")
    result = runner.invoke(app, ["evals", "run", str(path), "--quiet"])
    assert result.exit_code == 2
    assert f"{path}:5: field 'cases.0.expect.handoff'" in result.output


def test_compare_exits_1_on_a_regression(tmp_path: Path, fake_target: FakeTarget) -> None:
    suite = _suite(tmp_path, ">= 0")
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert runner.invoke(app, ["evals", "run", str(suite), "--out", str(a), "--quiet"]).exit_code == 0
    fake_target.replies["human"] = answer("I can help with that.")
    assert runner.invoke(app, ["evals", "run", str(suite), "--out", str(b), "--quiet"]).exit_code == 0
    result = runner.invoke(app, ["evals", "compare", str(a), str(b)])
    assert result.exit_code == 1
    assert (
        "handoff.recall" in result.output and "REGRESSION" in result.output and "newly failing (1): a" in result.output
    )
    same = runner.invoke(app, ["evals", "compare", str(a), str(a)])
    assert same.exit_code == 0 and "no regressions" in same.output


def test_list_shows_the_bundled_suites() -> None:
    result = runner.invoke(app, ["evals", "list"])
    assert result.exit_code == 0 and "smoke" in result.output and "handoff" in result.output
