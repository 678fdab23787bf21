"""Pick the parser by file type; check size and emptiness first. One bad file raises an
``InvalidInput`` that names the file and says what to do; callers report it per file.
A parser that fails in a way we did not foresee (a corrupt file in a variant we never saw)
also becomes an ``InvalidInput`` for that file: the stack trace goes to the server log,
never to the editor.

File names are redacted like the text (``safe_file_name``): a card number in a file name
would otherwise reach the article id, its source and the index."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from core.errors import InvalidInput, PayloadTooLarge, SwitchboardError
from core.redaction import KB_KINDS, Redactor
from knowledge.documents import Document
from knowledge.loaders.faq import parse_faq
from knowledge.loaders.html import parse_html
from knowledge.loaders.markdown import decode_text, parse_markdown, slugify
from knowledge.loaders.pdf import parse_pdf
from knowledge.loaders.text import parse_text
from knowledge.loaders.word import parse_docx

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
SUPPORTED = (".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".txt", ".csv", ".json")

log = logging.getLogger("switchboard.kb")


_NAME_REDACTOR = Redactor(use_presidio=False)  # our patterns only: no Presidio import for a file name


def safe_file_name(name: str) -> str:
    """``name`` with card numbers (Luhn), CVVs, expiry dates, secrets and tax ids replaced
    by placeholders, as in uploads' text (``KB_KINDS``, our own patterns; Presidio's IBAN
    and national-id recognizers are not run on names)."""
    return _NAME_REDACTOR.redact(name, KB_KINDS).text


def iter_files(folder: Path) -> Iterator[Path]:
    """Every file under ``folder`` (sorted, hidden ones skipped); unsupported types are
    yielded too so the load report names them."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            yield path


def load_bytes(data: bytes, *, name: str, source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Document]:
    """The documents of one file. Raises ``InvalidInput`` (``PayloadTooLarge`` over
    ``max_bytes``) naming the file; never anything else for a bad file."""
    name, source = safe_file_name(name), safe_file_name(source)
    try:
        return _parse(data, name=name, source=source, max_bytes=max_bytes)
    except SwitchboardError:
        raise
    except Exception as exc:  # noqa: BLE001 - one unreadable file is that file's error, not a failed batch
        log.exception("loader failed on %s", source)
        raise InvalidInput(
            f"{source}: the file could not be read ({type(exc).__name__}); it may be corrupt or in a variant "
            "we cannot parse. Save it again (or as another supported type) and load it again."
        ) from exc


def _parse(data: bytes, *, name: str, source: str, max_bytes: int) -> list[Document]:
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
    source = safe_file_name(str(path.resolve()))
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise PayloadTooLarge(f"{source}: the file is {size} bytes; the limit is {max_bytes} bytes")
    return load_bytes(path.read_bytes(), name=path.name, source=source, max_bytes=max_bytes)
