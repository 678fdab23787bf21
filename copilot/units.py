"""Answer units of a KB passage: sentences, list items and numbered steps, and table rows
read with their header row. Suggested replies are put together from public units, next
steps from the units of a guideline article; a unit is never cut in half.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.text import split_sentences

__all__ = ["Unit", "plain", "units_of"]

_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,2}[.)]\s+")
_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_HEADING = re.compile(r"^\s*#{1,6}\s+")


@dataclass(frozen=True)
class Unit:
    kind: str  # sentence | item | step | row
    text: str  # plain text (no Markdown), a table row as "Header: cell; Header: cell"
    index: int  # position in the passage

    @property
    def is_step(self) -> bool:
        return self.kind in ("item", "step", "row")


def plain(text: str) -> str:
    """Markdown inline markup removed: links keep their text, emphasis marks go."""
    return re.sub(r"\s+", " ", _EMPHASIS.sub("", _LINK.sub(r"\1", text))).strip()


def _cells(line: str) -> list[str]:
    inner = line.strip()
    if inner.startswith("|"):
        inner = inner[1:]
    if inner.endswith("|"):
        inner = inner[:-1]
    return [plain(c) for c in inner.split("|")]


def units_of(text: str) -> list[Unit]:
    """Split a passage into units, in order."""
    out: list[Unit] = []
    lines = text.splitlines()
    header: list[str] | None = None
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            for s in split_sentences(plain(" ".join(paragraph))):
                if s.strip():
                    out.append(Unit("sentence", s.strip(), len(out)))
            paragraph.clear()

    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or _HEADING.match(stripped):
            flush()
            header = None
            continue
        if stripped.startswith("|"):
            flush()
            if _RULE.match(stripped):
                continue
            nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if header is None and _RULE.match(nxt):
                header = _cells(stripped)
                continue
            cells = _cells(stripped)
            if header and len(header) == len(cells):
                row = "; ".join(f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=True) if c)
            else:
                row = "; ".join(c for c in cells if c)
            if row:
                out.append(Unit("row", row, len(out)))
            continue
        header = None
        m = _ITEM.match(line)
        if m:
            flush()
            item = plain(m.group(1))
            if item:
                out.append(Unit("step" if _NUMBERED.match(line) else "item", item, len(out)))
            continue
        paragraph.append(stripped)
    flush()
    return out
