"""FAQs as CSV or JSON: one article per (question, answer) row.

Columns / keys: ``question`` and ``answer`` (required), ``id``, ``url``, ``visibility``,
``language``, ``updated`` (optional). JSON may be a list of rows or ``{"faqs": [...]}``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping

from core.errors import InvalidInput
from knowledge.documents import Document
from knowledge.loaders.markdown import decode_text, parse_visibility, slugify


def _rows_from_csv(text: str, source: str) -> list[dict[str, str]]:
    try:
        reader = csv.DictReader(io.StringIO(text))
        rows = [{str(k).strip().lower(): (v or "") for k, v in r.items() if k is not None} for r in reader]
    except csv.Error as exc:
        raise InvalidInput(f"{source}: the CSV cannot be parsed: {exc}") from exc
    return rows


def _rows_from_json(text: str, source: str) -> list[dict[str, str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{source}: not valid JSON: {exc}") from exc
    if isinstance(data, Mapping):
        data = data.get("faqs", data.get("faq"))
    if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
        raise InvalidInput(f"{source}: expected a JSON list of {{question, answer}} objects (or {{'faqs': [...]}})")
    return [{str(k).lower(): "" if v is None else str(v) for k, v in r.items()} for r in data]


def parse_faq(data: bytes, *, name: str, source: str) -> list[Document]:
    text = decode_text(data, source)
    if not text.strip():
        raise InvalidInput(f"{source}: the file is empty")
    rows = _rows_from_json(text, source) if name.lower().endswith(".json") else _rows_from_csv(text, source)
    if not rows:
        raise InvalidInput(f"{source}: no FAQ rows found")
    if "question" not in rows[0] or "answer" not in rows[0]:
        raise InvalidInput(f"{source}: an FAQ needs 'question' and 'answer' columns; found {sorted(rows[0])}")
    stem = slugify(name.rsplit(".", 1)[0])
    docs: list[Document] = []
    for n, row in enumerate(rows, start=1):
        question, answer = row.get("question", "").strip(), row.get("answer", "").strip()
        if not question or not answer:
            raise InvalidInput(f"{source}: row {n} needs both a question and an answer")
        docs.append(
            Document(
                id=row.get("id", "").strip() or f"{stem}-{slugify(question)[:80]}",
                title=question,
                body=f"# {question}\n\n{answer}",
                url=row.get("url", "").strip(),
                visibility=parse_visibility(row.get("visibility"), f"{source} row {n}"),
                language=row.get("language", "").strip() or "en",
                updated=row.get("updated", "").strip(),
                source=source,
            )
        )
    return docs
