"""The knowledge base: load documents as versioned articles, embed only what changed,
keep the dense and keyword indexes in step, swap versions atomically, delete cleanly.

A load runs in batches across articles (one embedding call per batch, for speed). For
each batch: reserve the version numbers (the version rows, committed: two loads of one
article at once never write under the same chunk ids) -> write the new chunks (not live
yet) -> commit the article rows (a load passed by a newer live version is not kept) ->
flip the live-version pointers of the whole batch at once -> delete the retired chunks. If
the commit fails the new chunks and their numbers are removed again, so nothing is left
half-indexed, and a batch of several files is written again one file at a time, so one bad
file never fails the others.

Every file has a budget, checked before any expensive work: at most
``max_chunks_per_file`` chunks (estimated from the text length before redaction and
splitting, counted exactly after splitting) and ``max_seconds_per_file`` seconds of
redaction, scanning and splitting; a file over budget gets its own error and nothing of it
is embedded. Lines longer than a few chunks (a 10 MB one-line file) are cut at spaces (or
hard) before splitting, which otherwise falls back to one-character pieces. Editor-facing
errors never carry SQL or a stack trace.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from core.clock import assume_utc
from core.db.schema import Article, ArticleVersion, utcnow
from core.db.store import Store
from core.errors import Conflict, InvalidInput, NotFound, StoreUnavailable, SwitchboardError
from core.models.embed import Embedder
from knowledge.documents import Chunk, Document
from knowledge.index.base import Index
from knowledge.index.keyword import KeywordIndex
from knowledge.index.versions import LiveVersions
from knowledge.loaders.files import DEFAULT_MAX_BYTES, iter_files, load_path
from knowledge.numbering import bury, deleted_versions, revive
from knowledge.report import ArticleInfo, LoadReport, VersionInfo
from knowledge.scan import guard_document
from knowledge.splitters.headings import split_document

Progress = Callable[[int, int], None]  # (articles done, articles total)

log = logging.getLogger("switchboard.kb")

CHUNK_CHARS = 1200  # the splitter's max_chars: one chunk holds at most this many characters
DEFAULT_MAX_CHUNKS_PER_FILE = 1000  # ~1.2 M characters of text, a 300-page manual
DEFAULT_MAX_SECONDS_PER_FILE = 60.0  # redaction + injection scan + splitting of one file
_LONG_LINE = 4 * CHUNK_CHARS  # longer lines are cut before splitting

__all__ = ["KnowledgeBase", "LoadReport", "Progress"]


@dataclass
class _Pending:
    doc: Document
    version: int  # the new one
    old_version: int  # the live one (0: the article has no row, even when it had versions once)
    chunks: list[Chunk]
    flags: list[dict[str, object]] | None = None  # trust: suspicious passages for the editor
    content_hash: str = ""  # of the document as loaded (before redaction)
    old_chunks: int = 0  # of the version this one replaces, read when it is committed (``_commit``)


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
        max_chunks_per_file: int = DEFAULT_MAX_CHUNKS_PER_FILE,
        max_seconds_per_file: float = DEFAULT_MAX_SECONDS_PER_FILE,
    ) -> None:
        if batch_chunks < 1 or max_bytes < 1 or max_chunks_per_file < 1 or max_seconds_per_file <= 0:
            raise ValueError("batch_chunks, max_bytes, max_chunks_per_file and max_seconds_per_file must be positive")
        self.store = store
        self.index = index
        self.keyword = keyword
        self.embedder = embedder
        self.live = live or LiveVersions(live_versions_from(store))
        self.batch_chunks = batch_chunks
        self.max_bytes = max_bytes
        self.max_chunks_per_file = max_chunks_per_file
        self.max_seconds_per_file = max_seconds_per_file

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
        current, last, floor = self._current(tenant_id)
        refused = self._over_budget(docs, report)  # before any redaction, scanning or splitting
        seen: dict[str, str] = {}
        todo: list[_Pending] = []
        spent: defaultdict[str, float] = defaultdict(float)  # source -> seconds of preparation
        done = 0
        for doc in docs:
            where = doc.source or doc.id
            if where in refused:
                continue
            problem = _unstorable(doc)
            if problem:
                report.errors[where] = f"{where}: {problem}"
                continue
            doc = _clean(doc)
            if doc.id in seen:
                report.errors[where] = f"duplicate article id {doc.id!r} (also in {seen[doc.id]}); give it another id"
                continue
            seen[doc.id] = where
            raw_hash = doc.content_hash  # versions are keyed by the source content: unchanged costs no scan
            old_hash, old_version = current.get(doc.id, ("", 0))
            if old_hash == raw_hash:
                report.unchanged.append(doc.id)
                report.versions[doc.id] = old_version
                done += 1
                continue
            # A deleted article continues its numbers: a chunk id never names two texts.
            version = old_version + 1 if old_version else max(last.get(doc.id, 0), floor) + 1
            began = time.perf_counter()
            doc, flags = guard_document(doc)  # trust: redact + quarantine suspicious passages before embedding
            try:
                chunks = split_document(
                    replace(doc, body=_cut_long_lines(doc.body)),
                    tenant_id=tenant_id,
                    version=version,
                    max_chars=CHUNK_CHARS,
                )
            except SwitchboardError as exc:
                report.errors[where] = str(exc)
                continue
            finally:
                spent[where] += time.perf_counter() - began
            if not chunks:
                report.errors[where] = f"{where}: no text to index"
                continue
            todo.append(_Pending(doc, version, old_version, chunks, flags, raw_hash))
        todo = self._within_budget(todo, spent, report)
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

    def _over_budget(self, docs: Sequence[Document], report: LoadReport) -> set[str]:
        """Files whose text alone needs more than ``max_chunks_per_file`` chunks (at least
        ``len(text) / CHUNK_CHARS``), refused before any work; each gets its own error."""
        chars: Counter[str] = Counter()
        estimate: Counter[str] = Counter()
        for doc in docs:
            where = doc.source or doc.id
            chars[where] += len(doc.body)
            estimate[where] += max(1, math.ceil(len(doc.body) / CHUNK_CHARS))
        refused = {where for where, n in estimate.items() if n > self.max_chunks_per_file}
        for where in refused:
            report.errors[where] = (
                f"{where}: the file has {chars[where]:,} characters of text, about {estimate[where]:,} chunks; "
                f"the limit is {self.max_chunks_per_file:,} chunks per file. Split it into smaller files "
                "(or raise SWITCHBOARD_KB_MAX_CHUNKS_PER_FILE)."
            )
        return refused

    def _within_budget(self, todo: list[_Pending], spent: dict[str, float], report: LoadReport) -> list[_Pending]:
        """Drop (with an error) every file whose chunks or preparation time are over budget."""
        chunks: Counter[str] = Counter()
        for item in todo:
            chunks[item.doc.source or item.doc.id] += len(item.chunks)
        over: dict[str, str] = {}
        for where, n in chunks.items():
            if n > self.max_chunks_per_file:
                over[where] = (
                    f"{where}: the file splits into {n:,} chunks; the limit is {self.max_chunks_per_file:,} "
                    "chunks per file. Split it into smaller files (or raise SWITCHBOARD_KB_MAX_CHUNKS_PER_FILE)."
                )
            elif spent.get(where, 0.0) > self.max_seconds_per_file:
                over[where] = (
                    f"{where}: preparing the file took {spent[where]:.0f} s; the limit is "
                    f"{self.max_seconds_per_file:g} s per file. Split it into smaller files "
                    "(or raise SWITCHBOARD_KB_MAX_SECONDS_PER_FILE)."
                )
        report.errors.update(over)
        return [item for item in todo if (item.doc.source or item.doc.id) not in over]

    def _current(self, tenant_id: str) -> tuple[dict[str, tuple[str, int]], dict[str, int], int]:
        """(article id -> (content hash, live version), deleted article id -> its last version,
        the tenant's version floor): ``knowledge/numbering.py``. What a committed version
        replaces (the chunks to retire) is read again at its commit."""
        with self.store.session(tenant_id) as s:
            rows = s.execute(select(Article.external_id, Article.content_hash, Article.current_version))
            live = {eid: (h, v) for eid, h, v in rows}
            last, floor = deleted_versions(s)
            return live, last, floor

    def _write_batch(self, tenant_id: str, batch: list[_Pending], actor: str, report: LoadReport) -> None:
        chunks = [c for item in batch for c in item.chunks]
        try:
            vectors = self.embedder.embed([c.embedding_text() for c in chunks])
        except SwitchboardError as exc:
            for item in batch:
                report.errors[item.doc.source or item.doc.id] = f"not indexed: {exc}"
            return
        failure = self._store(tenant_id, batch, chunks, vectors, actor, report)
        if failure is None:
            self._go_live(tenant_id, batch, report)
            return
        if len(batch) == 1:
            report.errors[batch[0].doc.source or batch[0].doc.id] = _editor_message(failure)
            return
        # One bad file must not fail the others: write the batch again one file at a time.
        pos = 0
        for item in batch:
            mine = slice(pos, pos + len(item.chunks))
            pos += len(item.chunks)
            one = [item]
            failure = self._store(tenant_id, one, chunks[mine], vectors[mine], actor, report)
            if failure is None:
                self._go_live(tenant_id, one, report)
            else:
                report.errors[item.doc.source or item.doc.id] = _editor_message(failure)

    def _store(
        self,
        tenant_id: str,
        batch: list[_Pending],
        chunks: list[Chunk],
        vectors: np.ndarray,
        actor: str,
        report: LoadReport,
    ) -> BaseException | None:
        """Write the chunks (not live yet) and commit the article rows; on failure remove the
        chunks again and return the error (errors of unknown kind are raised)."""
        reserved: list[_Pending] = []
        new_ids: list[str] = []
        self.live.add_pending(tenant_id, len(chunks))  # written ahead of the flip: invisible
        try:
            # Numbers first: two loads of one article at once never write under the same ids.
            reserved[:] = self._reserve(tenant_id, batch, actor)
            batch[:] = reserved
            chunks = [c for item in reserved for c in item.chunks]
            new_ids = [c.id for c in chunks]
            self.index.upsert(tenant_id, chunks, vectors)
            self.keyword.add(tenant_id, chunks)
            superseded = self._commit(tenant_id, batch, actor)
        except BaseException as exc:
            if new_ids:  # this load's own ids (its numbers were reserved): no one else's chunks
                self.index.delete(tenant_id, new_ids)
                self.keyword.remove(tenant_id, new_ids)
            self.live.add_pending(tenant_id, -len(chunks))
            self._release(tenant_id, reserved)
            if not isinstance(exc, SwitchboardError | OSError | SQLAlchemyError):
                raise
            # the statement without its parameters: those hold article text
            statement = getattr(exc, "statement", None) or ""
            log.warning(
                "KB write failed for %s: %s %s", [i.doc.id for i in batch], _editor_message(exc), statement[:300]
            )
            return exc
        if superseded:
            # Another load made a newer version live while this one ran: that one stays live.
            lost = [item for item in batch if item.doc.id in superseded]
            gone = [c.id for item in lost for c in item.chunks]
            self.index.delete(tenant_id, gone)
            self.keyword.remove(tenant_id, gone)
            self.live.add_pending(tenant_id, -len(gone))
            self._release(tenant_id, lost)
            for item in lost:
                report.errors[item.doc.source or item.doc.id] = (
                    f"not kept: another load made version {superseded[item.doc.id]} of {item.doc.id!r} live while "
                    "this one ran; load it again if yours is the newer text"
                )
            batch[:] = [item for item in batch if item.doc.id not in superseded]
        return None

    def _reserve(self, tenant_id: str, batch: list[_Pending], actor: str) -> list[_Pending]:
        """Each item's version number, taken in the database before its chunks are written:
        its ``ArticleVersion`` row, committed (the unique (article, version) row is the
        reservation). A number another load took meanwhile, or one a tombstone passed, gives
        way to the next free one, and the item's chunks take it."""

        def work(s: Session) -> list[_Pending]:
            ids = [i.doc.id for i in batch]
            used = dict(
                s.execute(
                    select(ArticleVersion.article_id, func.max(ArticleVersion.version))
                    .where(ArticleVersion.article_id.in_(ids))
                    .group_by(ArticleVersion.article_id)
                ).all()
            )
            last, floor = deleted_versions(s)
            present = set(s.scalars(select(Article.external_id).where(Article.external_id.in_(ids))))
            out = []
            for item in batch:
                if item.old_version and item.doc.id not in present:  # an edit of an article deleted since
                    raise Conflict(f"the article {item.doc.id!r} was deleted while this load ran; load it again")
                taken = max(
                    int(used.get(item.doc.id) or 0),
                    last.get(item.doc.id, 0),
                    item.old_version,
                    0 if item.old_version else floor,
                )
                version = item.version if item.version > taken else taken + 1
                if version != item.version:
                    item = replace(item, version=version, chunks=[replace(c, version=version) for c in item.chunks])
                s.add(
                    ArticleVersion(
                        article_id=item.doc.id,
                        version=version,
                        content_hash=item.content_hash or item.doc.content_hash,
                        title=item.doc.title,
                        body=item.doc.body,
                        chunk_count=len(item.chunks),
                        created_by=actor,
                    )
                )
                out.append(item)
            s.flush()
            return out

        return self.store.run(tenant_id, work, retry_conflicts=True)

    def _release(self, tenant_id: str, items: list[_Pending]) -> None:
        """Give back the numbers of items that did not go live (their version rows), unless
        that version is live (a commit that failed after its article row changed)."""
        if not items:
            return
        try:
            with self.store.session(tenant_id) as s:
                for item in items:
                    live = s.scalar(select(Article.current_version).where(Article.external_id == item.doc.id))
                    if live == item.version:
                        continue
                    s.execute(
                        sql_delete(ArticleVersion).where(
                            ArticleVersion.article_id == item.doc.id, ArticleVersion.version == item.version
                        )
                    )
        except (SQLAlchemyError, StoreUnavailable) as exc:  # a version row without chunks is listed, never live
            # never raised: the load's other files are committed and must still go live
            log.warning("could not release the version numbers of %s: %s", [i.doc.id for i in items], exc)

    def _go_live(self, tenant_id: str, batch: list[_Pending], report: LoadReport) -> None:
        if not batch:
            return
        n_chunks = sum(len(i.chunks) for i in batch)
        retired = [f"{i.doc.id}::v{i.old_version}::{n}" for i in batch if i.old_version for n in range(i.old_chunks)]
        # One assignment makes the whole batch live; retired chunks become invisible with it.
        generation = self.live.flip(
            tenant_id, {i.doc.id: i.version for i in batch}, pending_delta=len(retired) - n_chunks
        )
        if retired:
            self.live.wait_for_readers(generation)  # searches that still see the old version finish first
            self.index.delete(tenant_id, retired)
            self.keyword.remove(tenant_id, retired)
            self.live.add_pending(tenant_id, -len(retired))
        for item in batch:
            (report.updated if item.old_version else report.added).append(item.doc.id)
            report.versions[item.doc.id] = item.version
        report.chunks_embedded += n_chunks

    def _commit(self, tenant_id: str, batch: list[_Pending], actor: str) -> dict[str, int]:
        """Make the reserved versions the articles' current ones (one unit of work). An
        article whose current version is already newer (a load that reserved later committed
        first) is left alone: returned as {article id: its live version}. Each other item's
        ``old_version`` / ``old_chunks`` become the version it replaces, as read here (the
        chunks to retire), whatever the load read at its start."""
        ids = [i.doc.id for i in batch]
        superseded: dict[str, int] = {}
        with self.store.session(tenant_id) as s:
            existing = {a.external_id: a for a in s.scalars(select(Article).where(Article.external_id.in_(ids)))}
            revive(s, {i.doc.id: i.version for i in batch if i.doc.id not in existing})
            reserved = {
                (a, v): n
                for a, v, n in s.execute(
                    select(ArticleVersion.article_id, ArticleVersion.version, ArticleVersion.chunk_count).where(
                        ArticleVersion.article_id.in_(ids)
                    )
                )
            }
            now = utcnow()
            for k, item in enumerate(batch):
                doc = item.doc
                if (doc.id, item.version) not in reserved:  # deleted (with its versions) while this load ran
                    raise Conflict(f"the article {doc.id!r} was deleted while this load ran; load it again")
                digest = item.content_hash or doc.content_hash
                article = existing.get(doc.id)
                if article is not None and article.current_version > item.version:
                    superseded[doc.id] = article.current_version
                    continue
                previous = article.current_version if article is not None else 0
                batch[k] = replace(item, old_version=previous, old_chunks=int(reserved.get((doc.id, previous)) or 0))
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
        return superseded

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
        """Remove the article, its versions, its vectors and its keyword entries; its last
        version number is kept (a tombstone, in the same unit of work) for when it comes back."""
        with self.store.session(tenant_id) as s:
            article = s.scalars(select(Article).where(Article.external_id == article_id)).first()
            if article is None:
                raise NotFound(f"No article {article_id!r}; `switchboard kb list` shows the ids")
            newest = s.scalar(select(func.max(ArticleVersion.version)).where(ArticleVersion.article_id == article_id))
            s.delete(article)
            s.execute(sql_delete(ArticleVersion).where(ArticleVersion.article_id == article_id))
            bury(s, article_id, max(article.current_version, int(newest or 0)))
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
    if updated is not None:
        updated = assume_utc(updated)
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


def _column_limit(column: object) -> int | None:
    length = getattr(getattr(column, "type", None), "length", None)
    return int(length) if isinstance(length, int) else None


_LIMITS = {
    "id": _column_limit(Article.__table__.c.external_id),
    "url": _column_limit(Article.__table__.c.url),
    "source": _column_limit(Article.__table__.c.source),
}
_TITLE_LIMIT = _column_limit(Article.__table__.c.title) or 300


def _unstorable(doc: Document) -> str:
    """Why the database would refuse this document's metadata (column lengths, from the
    schema), said so the editor can fix the file; empty when it fits."""
    for field_name, value in (("id", doc.id), ("url", doc.url), ("source", doc.source)):
        limit = _LIMITS[field_name]
        if limit is not None and len(value) > limit:
            return f"the article {field_name} is {len(value)} characters long; the limit is {limit}"
    return ""


def _clean(doc: Document) -> Document:
    """NUL characters removed (PostgreSQL text cannot hold them) and an over-long title
    shortened to what the database stores."""
    title = doc.title.replace("\x00", "")
    if len(title) > _TITLE_LIMIT:
        title = title[: _TITLE_LIMIT - 1].rstrip() + "…"
    body = doc.body.replace("\x00", "")
    if title == doc.title and body == doc.body:
        return doc
    return replace(doc, title=title, body=body)


def _cut_long_lines(text: str, width: int = CHUNK_CHARS - 8) -> str:
    """Lines over ``_LONG_LINE`` characters cut into lines of at most ``width``, at the
    last space of each piece when there is one (linear time; the splitter would otherwise
    cut a line without spaces into one-character pieces first). ``width`` leaves room for
    the newline the splitter keeps with each line, so every line fits one chunk."""
    lines = text.split("\n")
    if all(len(line) <= _LONG_LINE for line in lines):
        return text
    out: list[str] = []
    for line in lines:
        if len(line) <= _LONG_LINE:
            out.append(line)
            continue
        pos = 0
        while len(line) - pos > width:
            space = line.rfind(" ", pos + width // 2, pos + width)
            cut = space if space > pos else pos + width
            out.append(line[pos:cut])
            pos = cut + 1 if space > pos else cut
        out.append(line[pos:])
    return "\n".join(out)


def _editor_message(exc: BaseException) -> str:
    """What an editor is told when a file could not be written: the reason in one line,
    never SQL, parameters or a stack trace (those go to the server log)."""
    if isinstance(exc, StoreUnavailable) and isinstance(exc.__cause__, IntegrityError):
        exc = exc.__cause__  # refused every time it was tried: a refusal, not an outage
    if isinstance(exc, DBAPIError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        return f"not indexed: the database refused the article ({reason[:200]}); fix the file and load it again"
    if isinstance(exc, SQLAlchemyError):
        return f"not indexed: the database refused the article ({type(exc).__name__}); try again"
    if isinstance(exc, OSError):
        return f"not indexed: the index could not be written ({exc.strerror or type(exc).__name__}); try again"
    return f"not indexed: {str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}"
