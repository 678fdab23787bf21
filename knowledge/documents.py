"""What loaders produce and what the index stores."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from core.types import Passage, Visibility


@dataclass(frozen=True)
class Document:
    """One KB article as loaded from a file, a URL or an FAQ row."""

    id: str
    title: str
    body: str  # Markdown (loaders convert other formats to Markdown-ish text)
    url: str = ""
    visibility: Visibility = Visibility.public
    language: str = "en"
    tags: tuple[str, ...] = ()
    updated: str = ""
    source: str = ""

    @property
    def content_hash(self) -> str:
        h = hashlib.sha256()
        for part in (self.title, self.body, self.url, self.visibility.value, self.language):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()


def embedding_text(title: str, section: str, text: str) -> str:
    """What the index embeds for a chunk: its title (and section), then its text."""
    head = f"{title} — {section}" if section and section != title else title
    return f"{head}\n{text}"


@dataclass(frozen=True)
class Chunk:
    """A piece of one article version, as indexed."""

    tenant_id: str
    article_id: str
    version: int
    ordinal: int
    title: str
    section: str
    text: str
    url: str = ""
    visibility: Visibility = Visibility.public
    language: str = "en"
    updated_at: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.article_id}::v{self.version}::{self.ordinal}"

    def embedding_text(self) -> str:
        return embedding_text(self.title, self.section, self.text)

    def metadata(self) -> dict[str, str | int]:
        return {
            "tenant_id": self.tenant_id,
            "article_id": self.article_id,
            "version": self.version,
            "ordinal": self.ordinal,
            "title": self.title,
            "section": self.section,
            "url": self.url,
            "visibility": self.visibility.value,
            "language": self.language,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_metadata(cls, text: str, meta: dict[str, object]) -> Chunk:
        return cls(
            tenant_id=str(meta["tenant_id"]),
            article_id=str(meta["article_id"]),
            version=int(str(meta["version"])),
            ordinal=int(str(meta["ordinal"])),
            title=str(meta.get("title", "")),
            section=str(meta.get("section", "")),
            text=text,
            url=str(meta.get("url", "")),
            visibility=Visibility(str(meta.get("visibility", "public"))),
            language=str(meta.get("language", "en")),
            updated_at=str(meta.get("updated_at", "")),
        )

    def to_passage(self, score: float) -> Passage:
        return Passage(
            chunk_id=self.id,
            article_id=self.article_id,
            version=self.version,
            title=self.title,
            url=self.url,
            section=self.section,
            text=self.text,
            visibility=self.visibility,
            language=self.language,
            score=score,
        )
