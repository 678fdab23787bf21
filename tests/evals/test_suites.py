"""Suite files: the bundled ones load, and a malformed file names the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.errors import SuiteError
from evals.suite import bundled_suites, load_suite


def test_every_bundled_suite_loads() -> None:
    names = bundled_suites()
    assert {"smoke", "handoff", "summaries"} <= set(names)
    for name in names:
        suite = load_suite(name)
        assert suite.cases or suite.source is not None, name


def test_smoke_suite_gates_ci() -> None:
    suite = load_suite("smoke")
    assert 8 <= len(suite.cases) <= 12
    assert "retrieval.recall@4" in suite.thresholds and "handoff.recall" in suite.thresholds


def test_kinds_are_inferred_from_the_case_shape() -> None:
    assert {c.kind for c in load_suite("summaries").cases} == {"summary"}
    assert {c.kind for c in load_suite("handoff").cases} == {"conversation"}


BAD_FIELD = """name: broken
cases:
  - id: a
    turns: ["hello"]
  - id: b
    turns: ["where is my order?"]
    expect:
      handoff: sometimes
"""


def test_a_bad_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BAD_FIELD)
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert err.value.line == 8
    assert err.value.field == "cases.1.expect.handoff"
    assert str(path) in str(err.value) and ":8:" in str(err.value)


def test_an_unknown_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text('name: t\ncases:\n  - id: a\n    turns: ["hi"]\n    expcet: {handoff: true}\n')
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert (err.value.line, err.value.field) == (5, "cases.0.expcet")


def test_a_case_without_turns_names_the_case(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("name: t\ncases:\n  - id: a\n  - id: b\n    tags: [x]\n")
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert err.value.line == 3 and err.value.field == "cases.0"
    assert "turns" in err.value.problem


def test_duplicate_ids_name_the_second_case(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text('name: t\ncases:\n  - id: a\n    turn: "x"\n  - id: a\n    turn: "y"\n')
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert err.value.line == 5 and err.value.field == "cases.1.id"


def test_a_bad_threshold_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "th.yaml"
    path.write_text('name: t\nthresholds:\n  handoff.recall: "about 0.8"\ncases:\n  - id: a\n    turn: "x"\n')
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert err.value.line == 3 and err.value.field == "thresholds.handoff.recall"


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "syntax.yaml"
    path.write_text('name: t\ncases:\n  - id: a\n    turns: ["unclosed\n')
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert err.value.line is not None and err.value.field == "(syntax)"


def test_jsonl_suite_with_header_and_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(
        '{"suite": {"name": "j", "thresholds": {"handoff.recall": ">= 0.5"}}}\n'
        '{"id": "a", "turn": "hi", "expect": {"handoff": false}}\n'
        "\n"
        '{"id": "b", "turns": ["x"], "expect": {"reason": "because"}}\n'
    )
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert (err.value.line, err.value.field) == (4, "expect.reason")
    path.write_text('{"id": "a", "turn": "hi"}\n{"id": "b", "turn": oops}\n')
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert err.value.line == 2 and err.value.field == "(syntax)"
    path.write_text('{"suite": {"name": "j"}}\n{"id": "a", "turn": "hi"}\n')
    suite = load_suite(path)
    assert suite.name == "j" and suite.cases[0].turns == ["hi"] and suite.cases[0].line == 2


def test_unknown_suite_lists_the_bundled_ones() -> None:
    with pytest.raises(SuiteError, match="smoke"):
        load_suite("no-such-suite")
