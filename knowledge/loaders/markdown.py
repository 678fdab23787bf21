"""Markdown files with optional YAML front matter (id, title, url, visibility, language, tags)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from core.errors import InvalidInput
from core.types import Visibility
from knowledge.documents import Document

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_H1 = re.compile(r"^#\s+(.+)$", re.MULTILINE)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:120] or "article"


def parse_visibility(value: object, where: str) -> Visibility:
    text = str(value or "public").strip().lower()
    if text not in ("public", "internal"):
        raise InvalidInput(f"{where}: visibility must be public or internal, got {text!r}")
    return Visibility(text)


def decode_text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{name}: not UTF-8 text; save it as UTF-8 and load it again") from exc


def parse_markdown(text: str, *, default_id: str, source: str = "", base_url: str = "") -> Document:
    meta: dict[str, object] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{source or default_id}: front matter is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise InvalidInput(f"{source or default_id}: front matter must be a mapping")
        meta = loaded
        text = text[match.end() :]
    body = text.strip()
    if not body:
        raise InvalidInput(f"{source or default_id}: the document is empty")
    h1 = _H1.search(body)
    title = str(meta.get("title") or (h1.group(1).strip() if h1 else default_id))
    doc_id = str(meta.get("id") or default_id)
    tags = meta.get("tags") or []
    return Document(
        id=doc_id,
        title=title,
        body=body,
        url=str(meta.get("url") or (f"{base_url.rstrip('/')}/{doc_id}" if base_url else "")),
        visibility=parse_visibility(meta.get("visibility"), source or doc_id),
        language=str(meta.get("language", "en")),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        updated=str(meta.get("updated", "")),
        source=source,
    )


def load_markdown(path: Path, base_url: str = "") -> Document:
    text = decode_text(path.read_bytes(), path.name)
    return parse_markdown(text, default_id=slugify(path.stem), source=str(path), base_url=base_url)
