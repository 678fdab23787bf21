"""What the KB hands back to editors: load reports and article summaries (typed, not ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class LoadReport:
    """Per-article outcome of a load or sync; ``errors`` is keyed by file (or article id)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # source -> message
    versions: dict[str, int] = field(default_factory=dict)  # article id -> live version after the load
    chunks_embedded: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def merge(self, other: LoadReport) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.errors.update(other.errors)
        self.versions.update(other.versions)
        self.chunks_embedded += other.chunks_embedded

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.deleted)} deleted, {self.chunks_embedded} chunks embedded, {len(self.errors)} errors"
        )


@dataclass(frozen=True)
class ArticleInfo:
    id: str
    title: str
    url: str
    visibility: str
    language: str
    source: str
    version: int
    content_hash: str
    updated_at: datetime | None


@dataclass(frozen=True)
class VersionInfo:
    article_id: str
    version: int
    content_hash: str
    title: str
    chunk_count: int
    created_at: datetime | None
    created_by: str
    live: bool
    body: str = ""
