"""The heading splitter never cuts a table row or a numbered step, and every piece of a long
table starts with the table's header row (what its columns mean)."""

from __future__ import annotations

from knowledge.documents import Document
from knowledge.splitters.headings import split_document

HEADER = "| Plan | Monthly fee | What's included |"


def _doc(body: str) -> Document:
    return Document(id="a", title="Plans", body=body)


def test_a_long_table_is_split_between_rows_with_the_header_on_every_piece() -> None:
    rows = [f"| Plan {i} | £{10 + i}.00 | {i} classes a week, towels and a locker |" for i in range(60)]
    body = "# Plans\n\n## All plans\n\n" + "\n".join([HEADER, "|---|---|---|", *rows]) + "\n"
    chunks = split_document(_doc(body), tenant_id="t", version=1, max_chars=600)
    assert len(chunks) > 3
    seen: list[str] = []
    for chunk in chunks:
        lines = chunk.text.splitlines()
        assert lines[:2] == [HEADER, "|---|---|---|"], "a piece lost the header row"
        assert all(len(line) <= 600 for line in lines)
        seen += lines[2:]
        assert chunk.section == "All plans"
    assert seen == rows, "every row exactly once, whole, in order"


def test_numbered_steps_are_split_between_steps() -> None:
    steps = [f"{i}. Do the thing number {i}, which takes a sentence or two to explain properly." for i in range(1, 30)]
    body = "# Setup\n\n## Steps\n\n" + "\n".join(steps) + "\n"
    chunks = split_document(_doc(body), tenant_id="t", version=1, max_chars=400)
    assert len(chunks) > 2
    pieces = [line for c in chunks for line in c.text.splitlines()]
    assert pieces == steps


def test_a_step_with_a_continuation_line_stays_whole() -> None:
    body = "# Setup\n\n## Steps\n\n" + "\n".join(
        f"{i}. Open the settings page number {i}.\n   Then press the button labelled Save and wait."
        for i in range(1, 20)
    )
    chunks = split_document(_doc(body), tenant_id="t", version=1, max_chars=300)
    for chunk in chunks:
        first = chunk.text.splitlines()[0]
        assert first[0].isdigit(), f"a piece starts inside a step: {first!r}"


def test_short_sections_are_unchanged() -> None:
    body = "# Plans\n\n## Prices\n\n" + "\n".join([HEADER, "|---|---|---|", "| Flexi | £25.00 | Classes |"]) + "\n"
    (chunk,) = split_document(_doc(body), tenant_id="t", version=1)
    assert chunk.text.splitlines()[-1] == "| Flexi | £25.00 | Classes |"
