"""Split Markdown along headings; each chunk keeps its section path. Long sections are
split further on paragraph boundaries (lists and tables stay whole where they fit); a
single block longer than the limit is cut by langchain's recursive splitter (lines, then
sentences, then words)."""

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


def _fit(blocks: list[str], max_chars: int) -> list[str]:
    out: list[str] = []
    for block in blocks:
        out.extend([block] if len(block) <= max_chars else _splitter(max_chars).split_text(block))
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
