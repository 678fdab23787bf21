"""The benchmark runner and its shared helpers (no benchmark is run here: they are not tests)."""

from __future__ import annotations

import pytest

from bench.__main__ import available, main
from bench.answer_latency import demo_questions
from bench.table import percentile, ratio, render


def test_percentiles_interpolate_between_ranks() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 5.0
    assert percentile(values, 95) == pytest.approx(4.8)
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_ratios_and_tables_read_well() -> None:
    assert ratio(3.0, 1.5) == "2.0x"
    assert ratio(1.0, 0.0) == "-"
    table = render(["path", "p50 s"], [["retrieval", 0.5], ["answer", 12.5]], title="T")
    lines = table.splitlines()
    assert lines[0] == "T"
    assert lines[1].split() == ["path", "p50", "s"]
    assert lines[3].startswith("retrieval") and lines[3].endswith("0.500")
    assert lines[4].endswith("12.5")
    assert len({len(line) for line in lines[2:]}) == 1  # columns line up


def test_the_runner_lists_benchmarks_and_refuses_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert "answer_latency" in available()
    assert "table" not in available()
    assert main([]) == 0
    listing = capsys.readouterr().out
    assert "answer_latency" in listing and "Time to answer" in listing
    assert main(["no_such_bench"]) == 2
    assert "answer_latency" in capsys.readouterr().err


def test_demo_questions_are_fifty_distinct_full_questions() -> None:
    questions = demo_questions(50)
    assert len(questions) == len(set(questions)) == 50
    assert all(len(q.split()) >= 4 for q in questions)
    assert "How long do I have to return an item?" not in questions  # the warm-up question is not timed
