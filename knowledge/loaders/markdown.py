"""Markdown files with optional YAML front matter (id, title, url, visibility, language, tags).

Front matter is untrusted input: it is parsed with a safe loader that refuses YAML
anchors and aliases (a few hundred bytes of nested aliases expand to gigabytes when the
values are turned into text, the "billion laughs" attack) and is capped at
``FRONT_MATTER_MAX_BYTES``. Article metadata needs neither.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from core.errors import InvalidInput
from core.types import Visibility
from knowledge.documents import Document

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
FRONT_MATTER_MAX_BYTES = 16 * 1024  # metadata of one article; real front matter is a few hundred bytes
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


class _AliasRefused(yaml.YAMLError):
    def __init__(self, line: int) -> None:
        super().__init__(f"line {line}")
        self.line = line


class _NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses anchors (``&a``) and aliases (``*a``) while composing,
    before any node is built, so an alias bomb costs nothing."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _AliasRefused(event.start_mark.line + 2)  # + the opening "---" line, 1-based
        return super().compose_node(parent, index)


def load_front_matter(text: str, where: str) -> dict[str, object]:
    """The YAML front matter as a mapping. Raises ``InvalidInput`` (naming ``where``) when
    it is over ``FRONT_MATTER_MAX_BYTES``, uses anchors or aliases, is not valid YAML, or
    is not a mapping."""
    size = len(text.encode("utf-8"))
    if size > FRONT_MATTER_MAX_BYTES:
        raise InvalidInput(
            f"{where}: the front matter is {size} bytes; the limit is {FRONT_MATTER_MAX_BYTES} bytes "
            "(keep only id, title, url, visibility, language, tags and updated there)"
        )
    try:
        loaded = yaml.load(text, Loader=_NoAliasLoader) or {}  # noqa: S506 - a SafeLoader subclass
    except _AliasRefused as exc:
        raise InvalidInput(
            f"{where}: front matter line {exc.line} uses a YAML anchor or alias (&name / *name), which is "
            "not allowed; write the value out"
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{where}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(loaded, dict):
        raise InvalidInput(f"{where}: front matter must be a mapping")
    return loaded


def parse_markdown(text: str, *, default_id: str, source: str = "", base_url: str = "") -> Document:
    meta: dict[str, object] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        meta = load_front_matter(match.group(1), source or default_id)
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
