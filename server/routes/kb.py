"""The editor's side of the knowledge base: upload, list, versions, delete, search, and the
``/editor`` page. Writes and reads both need the Editor role (editor or supervisor)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from core.errors import InvalidInput, SwitchboardError
from core.types import Passage, Visibility
from knowledge.documents import Document
from knowledge.index.base import Filters
from knowledge.loaders.files import load_bytes, safe_file_name
from knowledge.report import ArticleInfo, LoadReport
from server.deps import Editor, ServicesDep
from server.routes.pages import STATIC

router = APIRouter(tags=["kb"])

# What an editor must never see in a load report: SQL, bound parameters, stack traces.
_LEAK = re.compile(r"\[SQL:|\[parameters:|Traceback \(most recent call last\)|\(Background on this error|\bFile \"/")


def editor_error(message: str) -> str:
    """A load-report error as an editor may see it: one line at most 500 characters, and
    a generic message if it carries SQL or a stack trace (knowledge.kb already words
    database failures for editors; this is the last line of defence)."""
    if _LEAK.search(message):
        return "The file could not be stored; the server log has the details. Try again or contact your administrator."
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    return first[:500]


class ArticlePublic(BaseModel):
    id: str
    title: str
    url: str
    visibility: str
    language: str
    source: str
    version: int
    content_hash: str
    updated_at: datetime | None = None

    @classmethod
    def of(cls, info: ArticleInfo) -> ArticlePublic:
        return cls(**info.__dict__)


class ArticlesPublic(BaseModel):
    data: list[ArticlePublic]
    count: int


class ChunkPublic(BaseModel):
    ordinal: int
    section: str
    text: str


class ArticleDetail(ArticlePublic):
    body: str = ""
    chunks: list[ChunkPublic] = Field(default_factory=list)


class VersionPublic(BaseModel):
    version: int
    content_hash: str
    title: str
    chunk_count: int
    created_at: datetime | None
    created_by: str
    live: bool


class LoadReportPublic(BaseModel):
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    deleted: list[str]
    errors: dict[str, str] = Field(description="file name -> what went wrong and what to do")
    versions: dict[str, int]
    chunks_embedded: int

    @classmethod
    def of(cls, report: LoadReport) -> LoadReportPublic:
        return cls(
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            deleted=report.deleted,
            errors=report.errors,
            versions=report.versions,
            chunks_embedded=report.chunks_embedded,
        )


class SearchResults(BaseModel):
    query: str
    data: list[Passage]
    count: int


class ArticleDeleted(BaseModel):
    id: str
    deleted: bool = True


@router.get("/editor", include_in_schema=False)
def editor_page() -> FileResponse:
    return FileResponse(STATIC / "editor.html")


@router.get("/api/kb/articles")
def list_articles(principal: Editor, services: ServicesDep) -> ArticlesPublic:
    data = [ArticlePublic.of(a) for a in services.kb.list_articles(principal.tenant_id)]
    return ArticlesPublic(data=data, count=len(data))


@router.get("/api/kb/articles/{article_id}")
def read_article(article_id: str, principal: Editor, services: ServicesDep) -> ArticleDetail:
    kb = services.kb
    info = kb.get_article(principal.tenant_id, article_id)
    live = [v for v in kb.versions(principal.tenant_id, article_id, with_body=True) if v.live]
    chunks = [
        ChunkPublic(ordinal=c.ordinal, section=c.section, text=c.text)
        for c in kb.chunks_of(principal.tenant_id, [article_id])
    ]
    return ArticleDetail(**ArticlePublic.of(info).model_dump(), body=live[0].body if live else "", chunks=chunks)


@router.get("/api/kb/articles/{article_id}/versions")
def list_versions(article_id: str, principal: Editor, services: ServicesDep) -> list[VersionPublic]:
    return [
        VersionPublic(
            version=v.version,
            content_hash=v.content_hash,
            title=v.title,
            chunk_count=v.chunk_count,
            created_at=v.created_at,
            created_by=v.created_by,
            live=v.live,
        )
        for v in services.kb.versions(principal.tenant_id, article_id)
    ]


@router.delete("/api/kb/articles/{article_id}")
def delete_article(article_id: str, principal: Editor, services: ServicesDep) -> ArticleDeleted:
    services.kb.delete(principal.tenant_id, article_id)
    return ArticleDeleted(id=article_id)


@router.post("/api/kb/upload")
def upload(
    principal: Editor,
    services: ServicesDep,
    files: Annotated[list[UploadFile], File(description="Markdown, HTML, PDF, DOCX, text or FAQ CSV/JSON files")],
) -> LoadReportPublic:
    limit = services.settings.max_upload_bytes
    report = LoadReport()
    docs: list[Document] = []
    for upload_file in files:
        name = safe_file_name(upload_file.filename or "upload")  # trust: no card number in ids or logs
        source = f"upload:{name}"
        data = upload_file.file.read(limit + 1)
        try:
            if len(data) > limit:
                raise InvalidInput(f"{source}: the file is over the upload limit of {limit} bytes")
            docs.extend(load_bytes(data, name=name, source=source, max_bytes=limit))
        except SwitchboardError as exc:
            report.errors[source] = str(exc)
        finally:
            del data
    services.kb.load_documents(principal.tenant_id, docs, actor=principal.actor, report=report)
    report.errors = {where: editor_error(message) for where, message in report.errors.items()}
    return LoadReportPublic.of(report)


@router.get("/api/kb/search")
def search(
    principal: Editor,
    services: ServicesDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="what a customer or agent would ask")],
    visibility: Literal["public", "all"] = "all",
    k: Annotated[int, Query(ge=1, le=50)] = 5,
) -> SearchResults:
    visibilities = (
        frozenset({Visibility.public})
        if visibility == "public"
        else frozenset({Visibility.public, Visibility.internal})
    )
    data = services.retriever.search(q, k=k, filters=Filters(principal.tenant_id, visibilities))
    return SearchResults(query=q, data=data, count=len(data))
