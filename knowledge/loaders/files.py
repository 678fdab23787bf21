"""Pick the parser by file type; check size and emptiness first. One bad file raises an
``InvalidInput`` that names the file and says what to do; callers report it per file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from core.errors import InvalidInput, PayloadTooLarge
from knowledge.documents import Document
from knowledge.loaders.faq import parse_faq
from knowledge.loaders.html import parse_html
from knowledge.loaders.markdown import decode_text, parse_markdown, slugify
from knowledge.loaders.pdf import parse_pdf
from knowledge.loaders.text import parse_text
from knowledge.loaders.word import parse_docx

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
SUPPORTED = (".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".txt", ".csv", ".json")


def iter_files(folder: Path) -> Iterator[Path]:
    """Every file under ``folder`` (sorted, hidden ones skipped); unsupported types are
    yielded too so the load report names them."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            yield path


def load_bytes(data: bytes, *, name: str, source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Document]:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise InvalidInput(f"{source}: unsupported file type {suffix or '(none)'!r}; supported: {', '.join(SUPPORTED)}")
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"{source}: the file is {len(data)} bytes; the limit is {max_bytes} bytes")
    if not data.strip():
        raise InvalidInput(f"{source}: the file is empty")
    doc_id = slugify(Path(name).stem)
    if suffix in (".md", ".markdown"):
        return [parse_markdown(decode_text(data, source), default_id=doc_id, source=source)]
    if suffix in (".html", ".htm"):
        return [parse_html(data, doc_id=doc_id, source=source)]
    if suffix == ".pdf":
        return [parse_pdf(data, doc_id=doc_id, source=source)]
    if suffix == ".docx":
        return [parse_docx(data, doc_id=doc_id, source=source)]
    if suffix == ".txt":
        return [parse_text(data, doc_id=doc_id, source=source)]
    return parse_faq(data, name=name, source=source)


def load_path(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Document]:
    source = str(path.resolve())
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise PayloadTooLarge(f"{source}: the file is {size} bytes; the limit is {max_bytes} bytes")
    return load_bytes(path.read_bytes(), name=path.name, source=source, max_bytes=max_bytes)
