"""PDF files through pypdf: the text of every page; the title from the PDF metadata or the
first line. Encrypted, corrupt or image-only PDFs get a clear error."""

from __future__ import annotations

import io
import logging

from core.errors import InvalidInput
from knowledge.documents import Document

logging.getLogger("pypdf").setLevel(logging.ERROR)


def parse_pdf(data: bytes, *, doc_id: str, source: str) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not data.lstrip().startswith(b"%PDF"):
        raise InvalidInput(f"{source}: not a PDF file (no %PDF header); it may be corrupt or mislabelled")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise InvalidInput(f"{source}: the PDF is encrypted; remove the password and load it again")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        meta_title = str(reader.metadata.title or "") if reader.metadata else ""
    except InvalidInput:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise InvalidInput(f"{source}: the PDF is corrupt and cannot be read ({type(exc).__name__}: {exc})") from exc
    body = "\n\n".join(p for p in pages if p)
    if not body:
        raise InvalidInput(f"{source}: the PDF has no extractable text (scanned pages need OCR first)")
    first = body.splitlines()[0].strip()
    title = meta_title.strip() or (first if len(first) <= 120 else doc_id)
    return Document(id=doc_id, title=title, body=body, source=source)
