"""DOCX files through python-docx: "Heading N" paragraphs become ``#`` headings, list
paragraphs ``-`` items and tables Markdown rows, in document order. The core property
``category`` may say ``internal``."""

from __future__ import annotations

import io
import zipfile

from core.errors import InvalidInput
from knowledge.documents import Document
from knowledge.loaders.markdown import parse_visibility


def parse_docx(data: bytes, *, doc_id: str, source: str) -> Document:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InvalidInput(f"{source}: not a readable DOCX file ({exc}); it may be corrupt") from exc
    blocks: list[str] = []
    title = ""
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = item.text.strip()
            if not text:
                continue
            style = (item.style.name if item.style is not None else "") or ""
            if style == "Title":
                title = title or text
                blocks.append(f"# {text}")
            elif style.startswith("Heading"):
                level = int(style.split()[-1]) if style.split()[-1].isdigit() else 1
                title = title or (text if level == 1 else "")
                blocks.append(f"{'#' * min(level, 6)} {text}")
            elif "List" in style:
                marker = "1." if "Number" in style else "-"
                if blocks and blocks[-1].lstrip().startswith(("- ", "1. ")):
                    blocks[-1] += f"\n{marker} {text}"
                else:
                    blocks.append(f"{marker} {text}")
            else:
                blocks.append(text)
        elif isinstance(item, Table):
            rows = [[c.text.strip().replace("|", "/") for c in row.cells] for row in item.rows]
            if rows:
                width = max(len(r) for r in rows)
                lines = ["| " + " | ".join(r) + " |" for r in rows]
                lines.insert(1, "|" + " --- |" * width)
                blocks.append("\n".join(lines))
    body = "\n\n".join(blocks)
    if not body.strip():
        raise InvalidInput(f"{source}: the document is empty")
    props = document.core_properties
    title = (props.title or "").strip() or title or doc_id
    visibility = "internal" if (props.category or "").strip().lower() == "internal" else "public"
    return Document(
        id=doc_id,
        title=title,
        body=body,
        visibility=parse_visibility(visibility, source),
        language=(props.language or "en").split("-")[0] or "en",
        source=source,
    )
