"""Plain text: the first short line is the title, blank lines separate paragraphs."""

from __future__ import annotations

from core.errors import InvalidInput
from knowledge.documents import Document
from knowledge.loaders.markdown import decode_text


def parse_text(data: bytes, *, doc_id: str, source: str) -> Document:
    text = decode_text(data, source).strip()
    if not text:
        raise InvalidInput(f"{source}: the document is empty")
    first, _, rest = text.partition("\n")
    first = first.strip()
    if len(first) <= 120 and rest.strip():
        return Document(id=doc_id, title=first, body=f"# {first}\n\n{rest.strip()}", source=source)
    return Document(id=doc_id, title=doc_id, body=text, source=source)
