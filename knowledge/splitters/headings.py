"""Split Markdown along headings; each chunk keeps its section path. Long sections are
split further on paragraph boundaries (lists and tables stay whole where they fit).

A block longer than the limit is split where the customer can still read each piece:

- a table between rows, every piece starting with the table's header row (and its rule
  line), so a row is never cut and never loses what its columns mean;
- a numbered or bulleted list between items (a step is never cut in half);
- prose by langchain's recursive splitter (lines, then sentences, then words).

Only a single row or item longer than the limit on its own is cut, by the same splitter."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from knowledge.documents import Chunk, Document

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _sections(body: str) -> list[tuple[list[str], str]]:
    path: list[str] = []
    out: list[tuple[list[str], str]] = []
    buf: list[str] = []
    in_code = False
    for line in body.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        m = None if in_code else _HEADING.match(line)
        if m:
            if any(x.strip() for x in buf):
                out.append((list(path), "\n".join(buf).strip()))
            buf = []
            level = len(m.group(1))
            path = path[: level - 1] + [m.group(2).strip()]
        else:
            buf.append(line)
    if any(x.strip() for x in buf):
        out.append((list(path), "\n".join(buf).strip()))
    return out


def _blocks(text: str) -> list[str]:
    """Paragraphs, with a list or table kept as one block."""
    return [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]


@lru_cache(maxsize=8)
def _splitter(max_chars: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=max_chars, chunk_overlap=0, separators=["\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
    )


_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")


def _group(lines: list[str], head: list[str], max_chars: int) -> list[str]:
    """Consecutive ``lines`` packed into pieces of at most ``max_chars``, each starting with
    ``head``; a line too long even alone is cut by the recursive splitter."""
    pieces: list[str] = []
    cur: list[str] = []
    size = sum(len(h) + 1 for h in head)
    for line in lines:
        if cur and size + len(line) + 1 > max_chars:
            pieces.append("\n".join(head + cur))
            cur, size = [], sum(len(h) + 1 for h in head)
        if sum(len(h) + 1 for h in head) + len(line) > max_chars:
            pieces.extend(_splitter(max_chars).split_text(line))
            continue
        cur.append(line)
        size += len(line) + 1
    if cur:
        pieces.append("\n".join(head + cur))
    return pieces


def _items(lines: list[str]) -> list[str]:
    """List lines grouped into items (an item's continuation lines stay with it)."""
    items: list[str] = []
    for line in lines:
        if _ITEM.match(line) or not items:
            items.append(line)
        else:
            items[-1] += "\n" + line
    return items


def _split_block(block: str, max_chars: int) -> list[str]:
    lines = block.splitlines()
    if len(lines) >= 2 and all(_TABLE_LINE.match(ln) for ln in lines):
        head = lines[:2] if _TABLE_RULE.match(lines[1]) else []
        return _group(lines[len(head) :], head, max_chars)
    if lines and _ITEM.match(lines[0]):
        return _group(_items(lines), [], max_chars)
    return _splitter(max_chars).split_text(block)


def _fit(blocks: list[str], max_chars: int) -> list[str]:
    out: list[str] = []
    for block in blocks:
        out.extend([block] if len(block) <= max_chars else _split_block(block, max_chars))
    return out


def _pack(blocks: list[str], max_chars: int) -> list[str]:
    pieces: list[str] = []
    cur = ""
    for block in _fit(blocks, max_chars):
        if cur and len(cur) + len(block) + 2 > max_chars:
            pieces.append(cur)
            cur = block
        else:
            cur = f"{cur}\n\n{block}" if cur else block
    if cur:
        pieces.append(cur)
    return pieces


def split_document(doc: Document, *, tenant_id: str, version: int, max_chars: int = 1200) -> list[Chunk]:
    chunks: list[Chunk] = []
    updated = doc.updated or datetime.now(UTC).isoformat(timespec="seconds")
    for path, text in _sections(doc.body):
        section_path = [p for p in path if p != doc.title] or [doc.title]
        section = " > ".join(section_path)
        for piece in _pack(_blocks(text), max_chars):
            chunks.append(
                Chunk(
                    tenant_id=tenant_id,
                    article_id=doc.id,
                    version=version,
                    ordinal=len(chunks),
                    title=doc.title,
                    section=section,
                    text=piece,
                    url=doc.url,
                    visibility=doc.visibility,
                    language=doc.language,
                    updated_at=updated,
                )
            )
    return chunks
