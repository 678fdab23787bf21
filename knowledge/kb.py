"""The knowledge base: load documents as versioned articles, embed only what changed,
keep the dense and keyword indexes in step, swap versions atomically, delete cleanly.

A load runs in batches across articles (one embedding call per batch, for speed). For
each batch: write the new chunks (not live yet) -> commit the article rows -> flip the
live-version pointers of the whole batch at once -> delete the retired chunks. If the
commit fails the new chunks are removed again, so nothing is left half-indexed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from core.db.schema import Article, ArticleVersion, utcnow
from core.db.store import Store
from core.errors import InvalidInput, NotFound, SwitchboardError
from core.models.embed import Embedder
from knowledge.documents import Chunk, Document
from knowledge.index.base import Index
from knowledge.index.keyword import KeywordIndex
from knowledge.index.versions import LiveVersions
from knowledge.loaders.files import DEFAULT_MAX_BYTES, iter_files, load_path
from knowledge.report import ArticleInfo, LoadReport, VersionInfo
from knowledge.scan import guard_document
from knowledge.splitters.headings import split_document

Progress = Callable[[int, int], None]  # (articles done, articles total)

__all__ = ["KnowledgeBase", "LoadReport", "Progress"]


@dataclass
class _Pending:
    doc: Document
    version: int
    old_version: int
    old_chunks: int
    chunks: list[Chunk]
    flags: list[dict[str, object]] | None = None  # trust: suspicious passages for the editor
    content_hash: str = ""  # of the document as loaded (before redaction)


def live_versions_from(store: Store) -> Callable[[str], dict[str, int]]:
    def load(tenant_id: str) -> dict[str, int]:
        with store.session(tenant_id) as s:
            return {eid: v for eid, v in s.execute(select(Article.external_id, Article.current_version))}

    return load


class KnowledgeBase:
    def __init__(
        self,
        store: Store,
        index: Index,
        keyword: KeywordIndex,
        embedder: Embedder,
        live: LiveVersions | None = None,
        *,
        batch_chunks: int = 1024,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if batch_chunks < 1 or max_bytes < 1:
            raise ValueError("batch_chunks and max_bytes must be positive")
        self.store = store
        self.index = index
        self.keyword = keyword
        self.embedder = embedder
        self.live = live or LiveVersions(live_versions_from(store))
        self.batch_chunks = batch_chunks
        self.max_bytes = max_bytes

    # -- loading files ------------------------------------------------------------------

    def load_paths(
        self, tenant_id: str, paths: Sequence[Path], *, actor: str = "system", progress: Progress | None = None
    ) -> LoadReport:
        """Load files and folders (recursively). Each bad file gets its own error."""
        report = LoadReport()
        docs: list[Document] = []
        for path in paths:
            files = iter_files(path) if path.is_dir() else [path]
            for file in files:
                try:
                    docs.extend(load_path(file, max_bytes=self.max_bytes))
                except SwitchboardError as exc:
                    report.errors[str(file)] = str(exc)
        return self.load_documents(tenant_id, docs, actor=actor, report=report, progress=progress)

    def load_folder(self, tenant_id: str, folder: Path, *, actor: str = "system") -> LoadReport:
        return self.load_paths(tenant_id, [folder], actor=actor)

    def sync_folder(
        self, tenant_id: str, folder: Path, *, actor: str = "system", progress: Progress | None = None
    ) -> LoadReport:
        """Make the KB match ``folder``: add and change what is there, delete articles that
        came from this folder and are gone. A file that fails to load keeps its articles."""
        if not folder.is_dir():
            raise InvalidInput(f"{folder} is not a folder")
        root = str(folder.resolve())
        report = self.load_paths(tenant_id, [folder], actor=actor, progress=progress)
        kept = set(report.added + report.updated + report.unchanged)
        failed = set(report.errors)
        for info in self.list_articles(tenant_id):
            inside = info.source == root or info.source.startswith(root.rstrip("/") + "/")
            if inside and info.id not in kept and info.source not in failed:
                self.delete(tenant_id, info.id)
                report.deleted.append(info.id)
        return report

    # -- loading documents --------------------------------------------------------------

    def load_documents(
        self,
        tenant_id: str,
        docs: Sequence[Document],
        *,
        actor: str = "system",
        report: LoadReport | None = None,
        progress: Progress | None = None,
    ) -> LoadReport:
        start = time.perf_counter()
        report = report if report is not None else LoadReport()
        current = self._current(tenant_id)
        seen: dict[str, str] = {}
        todo: list[_Pending] = []
        done = 0
        for doc in docs:
            where = doc.source or doc.id
            if doc.id in seen:
                report.errors[where] = f"duplicate article id {doc.id!r} (also in {seen[doc.id]}); give it another id"
                continue
            seen[doc.id] = where
            raw_hash = doc.content_hash  # versions are keyed by the source content: unchanged costs no scan
            old_hash, old_version, old_chunks = current.get(doc.id, ("", 0, 0))
            if old_hash == raw_hash:
                report.unchanged.append(doc.id)
                report.versions[doc.id] = old_version
                done += 1
                continue
            doc, flags = guard_document(doc)  # trust: redact + quarantine suspicious passages before embedding
            try:
                chunks = split_document(doc, tenant_id=tenant_id, version=old_version + 1)
            except SwitchboardError as exc:
                report.errors[where] = str(exc)
                continue
            if not chunks:
                report.errors[where] = f"{where}: no text to index"
                continue
            todo.append(_Pending(doc, old_version + 1, old_version, old_chunks, chunks, flags, raw_hash))
        total = done + len(todo)
        if progress:
            progress(done, total)
        batch: list[_Pending] = []
        size = 0
        for item in todo:
            batch.append(item)
            size += len(item.chunks)
            if size >= self.batch_chunks:
                self._write_batch(tenant_id, batch, actor, report)
                done += len(batch)
                if progress:
                    progress(done, total)
                batch, size = [], 0
        if batch:
            self._write_batch(tenant_id, batch, actor, report)
            done += len(batch)
            if progress:
                progress(done, total)
        report.seconds += time.perf_counter() - start
        return report

    def _current(self, tenant_id: str) -> dict[str, tuple[str, int, int]]:
        """article id -> (content hash, live version, chunk count of that version)."""
        with self.store.session(tenant_id) as s:
            rows = s.execute(
                select(
                    Article.external_id, Article.content_hash, Article.current_version, ArticleVersion.chunk_count
                ).join(
                    ArticleVersion,
                    (ArticleVersion.article_id == Article.external_id)
                    & (ArticleVersion.version == Article.current_version)
                    & (ArticleVersion.tenant_id == Article.tenant_id),
                    isouter=True,
                )
            )
            return {eid: (h, v, int(n or 0)) for eid, h, v, n in rows}

    def _write_batch(self, tenant_id: str, batch: list[_Pending], actor: str, report: LoadReport) -> None:
        chunks = [c for item in batch for c in item.chunks]
        try:
            vectors = self.embedder.embed([c.embedding_text() for c in chunks])
        except SwitchboardError as exc:
            for item in batch:
                report.errors[item.doc.source or item.doc.id] = f"not indexed: {exc}"
            return
        new_ids = [c.id for c in chunks]
        self.live.add_pending(tenant_id, len(chunks))  # written ahead of the flip: invisible
        try:
            self.index.upsert(tenant_id, chunks, vectors)
            self.keyword.add(tenant_id, chunks)
            self._commit(tenant_id, batch, actor)
        except BaseException as exc:
            self.index.delete(tenant_id, new_ids)
            self.keyword.remove(tenant_id, new_ids)
            self.live.add_pending(tenant_id, -len(chunks))
            if not isinstance(exc, SwitchboardError | OSError | SQLAlchemyError):
                raise
            for item in batch:
                report.errors[item.doc.source or item.doc.id] = f"not indexed: {exc}"
            return
        retired = [f"{i.doc.id}::v{i.old_version}::{n}" for i in batch if i.old_version for n in range(i.old_chunks)]
        # One assignment makes the whole batch live; retired chunks become invisible with it.
        generation = self.live.flip(
            tenant_id, {i.doc.id: i.version for i in batch}, pending_delta=len(retired) - len(chunks)
        )
        if retired:
            self.live.wait_for_readers(generation)  # searches that still see the old version finish first
            self.index.delete(tenant_id, retired)
            self.keyword.remove(tenant_id, retired)
            self.live.add_pending(tenant_id, -len(retired))
        for item in batch:
            (report.updated if item.old_version else report.added).append(item.doc.id)
            report.versions[item.doc.id] = item.version
        report.chunks_embedded += len(chunks)

    def _commit(self, tenant_id: str, batch: list[_Pending], actor: str) -> None:
        ids = [i.doc.id for i in batch]
        with self.store.session(tenant_id) as s:
            existing = {a.external_id: a for a in s.scalars(select(Article).where(Article.external_id.in_(ids)))}
            now = utcnow()
            for item in batch:
                doc = item.doc
                digest = item.content_hash or doc.content_hash
                article = existing.get(doc.id)
                if article is None:
                    article = Article(external_id=doc.id, content_hash=digest, title=doc.title)
                    s.add(article)
                article.title = doc.title
                article.url = doc.url
                article.visibility = doc.visibility.value
                article.language = doc.language
                article.source = doc.source
                article.content_hash = digest
                article.current_version = item.version
                article.updated_at = now
                article.flags = item.flags or []
                s.add(
                    ArticleVersion(
                        article_id=doc.id,
                        version=item.version,
                        content_hash=digest,
                        title=doc.title,
                        body=doc.body,
                        chunk_count=len(item.chunks),
                        created_by=actor,
                    )
                )

    # -- reading and deleting -----------------------------------------------------------

    def list_articles(self, tenant_id: str) -> list[ArticleInfo]:
        with self.store.session(tenant_id) as s:
            return [_info(a) for a in s.scalars(select(Article).order_by(Article.external_id))]

    def get_article(self, tenant_id: str, article_id: str) -> ArticleInfo:
        with self.store.session(tenant_id) as s:
            article = s.scalars(select(Article).where(Article.external_id == article_id)).first()
            if article is None:
                raise NotFound(f"No article {article_id!r}; `switchboard kb list` shows the ids")
            return _info(article)

    def versions(self, tenant_id: str, article_id: str, *, with_body: bool = False) -> list[VersionInfo]:
        live = self.get_article(tenant_id, article_id).version
        with self.store.session(tenant_id) as s:
            rows = s.scalars(
                select(ArticleVersion).where(ArticleVersion.article_id == article_id).order_by(ArticleVersion.version)
            )
            return [
                VersionInfo(
                    article_id=v.article_id,
                    version=v.version,
                    content_hash=v.content_hash,
                    title=v.title,
                    chunk_count=v.chunk_count,
                    created_at=v.created_at,
                    created_by=v.created_by,
                    live=v.version == live,
                    body=v.body if with_body else "",
                )
                for v in rows
            ]

    def delete(self, tenant_id: str, article_id: str) -> None:
        """Remove the article, its versions, its vectors and its keyword entries."""
        with self.store.session(tenant_id) as s:
            article = s.scalars(select(Article).where(Article.external_id == article_id)).first()
            if article is None:
                raise NotFound(f"No article {article_id!r}; `switchboard kb list` shows the ids")
            s.delete(article)
            s.execute(sql_delete(ArticleVersion).where(ArticleVersion.article_id == article_id))
        stale = self.index.chunk_ids(tenant_id, article_id)
        generation = self.live.flip(tenant_id, {article_id: None}, pending_delta=len(stale))
        self.live.wait_for_readers(generation)
        self.index.delete(tenant_id, stale)
        self.keyword.remove(tenant_id, stale)
        self.live.add_pending(tenant_id, -len(stale))

    def chunks_of(self, tenant_id: str, article_ids: Iterable[str]) -> list[Chunk]:
        """The live chunks of these articles, in article order."""
        view = self.live.view(tenant_id)
        wanted = set(article_ids)
        found = [
            c for c in self.index.chunks(tenant_id) if c.article_id in wanted and view.is_live(c.article_id, c.version)
        ]
        return sorted(found, key=lambda c: (c.article_id, c.ordinal))


def _info(a: Article) -> ArticleInfo:
    updated = a.updated_at
    if updated is not None and updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    return ArticleInfo(
        id=a.external_id,
        title=a.title,
        url=a.url,
        visibility=a.visibility,
        language=a.language,
        source=a.source,
        version=a.current_version,
        content_hash=a.content_hash,
        updated_at=updated if isinstance(updated, datetime) else None,
    )
