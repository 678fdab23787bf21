"""Pure text helpers shared by rooms that may not import each other (bot and copilot)."""

from __future__ import annotations

import re

_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n+")
_MD = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|#+\s+|\|)")


def split_sentences(text: str) -> list[str]:
    """Sentences and list/table lines, Markdown markers removed; fragments under 3 characters dropped."""
    out: list[str] = []
    for raw in _SPLIT.split(text):
        s = _MD.sub("", raw).strip().strip("|").strip()
        if len(s) >= 3:
            out.append(s)
    return out
