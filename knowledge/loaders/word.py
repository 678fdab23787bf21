"""DOCX files through python-docx: "Heading N" paragraphs become ``#`` headings, list
paragraphs ``-`` items and tables Markdown rows, in document order. The core property
``category`` may say ``internal``.

A DOCX is a ZIP archive, so it is checked before python-docx inflates it (a 1 MB "zip
bomb" inflates to gigabytes): at most ``MAX_MEMBERS`` members, ``MAX_INFLATED_BYTES`` in
total (as declared in the archive's directory, which ``zipfile`` enforces while reading:
a member that inflates past its declared size fails its CRC check), and no member over
1 MiB that inflates more than ``MAX_RATIO`` times. Word's own XML compresses 5-20x;
OWASP's guidance on archive uploads is to cap the total and the ratio.
"""

from __future__ import annotations

import io
import zipfile

from core.errors import InvalidInput, PayloadTooLarge
from knowledge.documents import Document
from knowledge.loaders.markdown import parse_visibility

MAX_MEMBERS = 2_000
MAX_INFLATED_BYTES = 64 * 1024 * 1024
MAX_RATIO = 100
_RATIO_FROM_BYTES = 1024 * 1024  # small members (styles, settings) may compress far better


def check_archive(data: bytes, source: str) -> None:
    """Refuse a ZIP whose inflated size or compression ratio is out of bounds, without
    inflating anything. Raises ``PayloadTooLarge`` (bounds) or ``InvalidInput`` (not a ZIP)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InvalidInput(f"{source}: not a readable DOCX file ({exc}); it may be corrupt") from exc
    if len(members) > MAX_MEMBERS:
        raise PayloadTooLarge(f"{source}: the DOCX holds {len(members)} parts; the limit is {MAX_MEMBERS}")
    total = sum(m.file_size for m in members)
    if total > MAX_INFLATED_BYTES:
        raise PayloadTooLarge(
            f"{source}: the DOCX inflates to {total} bytes; the limit is {MAX_INFLATED_BYTES} bytes "
            "(split the document, or remove large embedded files)"
        )
    for m in members:
        if m.file_size > _RATIO_FROM_BYTES and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise PayloadTooLarge(
                f"{source}: the DOCX part {m.filename!r} inflates {m.file_size // max(m.compress_size, 1)} times "
                f"(limit {MAX_RATIO}); the file looks like a zip bomb"
            )


def parse_docx(data: bytes, *, doc_id: str, source: str) -> Document:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_archive(data, source)
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
