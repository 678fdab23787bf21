"""``switchboard kb …``: load, sync, list, show, delete and search the knowledge base."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from core.errors import SwitchboardError
from core.settings import Settings
from core.types import Visibility
from knowledge.index.base import Filters
from knowledge.loaders.web import fetch_site
from knowledge.report import LoadReport
from server.container import Services

kb_app = typer.Typer(help="The knowledge base: load, sync, list, show, delete, search.", no_args_is_help=True)

TenantOpt = Annotated[str | None, typer.Option("--tenant", help="tenant id (default: the configured default tenant)")]


def _services() -> tuple[Services, Settings]:
    settings = Settings()
    return Services(settings), settings


def _tenant(services: Services, tenant: str | None) -> str:
    """The tenant to act on (default: the default tenant); an unknown one stops with a hint."""
    tenant_id = tenant or services.default_tenant
    if not services.store.tenant_config(tenant_id):
        services.close()
        typer.echo(f"No tenant {tenant_id!r}; create it first: switchboard tenant apply FILE", err=True)
        raise typer.Exit(2)
    return tenant_id


def _print_report(report: LoadReport) -> None:
    typer.echo(f"{report.summary()} ({report.seconds:.1f}s)")
    for source, error in report.errors.items():
        typer.echo(f"  error {source}: {error}", err=True)


def _with_progress(label: str) -> Progress:
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True)


@kb_app.command("load")
def load(
    paths: Annotated[list[str], typer.Argument(help="files, folders, or http(s) URLs of a page or sitemap")],
    tenant: TenantOpt = None,
) -> None:
    """Load files, folders and web pages; unchanged articles are not embedded again."""
    services, settings = _services()
    tenant_id = _tenant(services, tenant)
    report = LoadReport()
    files = [Path(p) for p in paths if not p.startswith(("http://", "https://"))]
    for url in (p for p in paths if p.startswith(("http://", "https://"))):
        try:
            site = fetch_site(url, max_bytes=settings.max_upload_bytes)
        except SwitchboardError as exc:
            report.errors[url] = str(exc)
            continue
        report.errors.update(site.errors)
        services.kb.load_documents(tenant_id, site.documents, actor="cli", report=report)
    with _with_progress("loading") as bar:
        task = bar.add_task("load", total=None)
        part = services.kb.load_paths(
            tenant_id, files, actor="cli", progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    report.merge(part)
    report.seconds += part.seconds
    _print_report(report)
    services.close()
    if report.errors:
        raise typer.Exit(1)


@kb_app.command("sync")
def sync(folder: Path, tenant: TenantOpt = None) -> None:
    """Make the KB match FOLDER: add new, update changed, delete articles whose files are gone."""
    services, settings = _services()
    with _with_progress("syncing") as bar:
        task = bar.add_task("sync", total=None)
        try:
            report = services.kb.sync_folder(
                tenant or services.default_tenant,
                folder,
                actor="cli",
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except SwitchboardError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    _print_report(report)
    services.close()
    if report.errors:
        raise typer.Exit(1)


@kb_app.command("list")
def list_articles(tenant: TenantOpt = None) -> None:
    """Every article with its live version and visibility."""
    services, settings = _services()
    articles = services.kb.list_articles(_tenant(services, tenant))
    for a in articles:
        typer.echo(f"{a.id:<40} v{a.version:<3} {a.visibility:<8} {a.language:<3} {a.title}")
    typer.echo(f"{len(articles)} articles")
    services.close()


@kb_app.command("show")
def show(article_id: str, tenant: TenantOpt = None) -> None:
    """One article: metadata, versions and its live chunks."""
    services, settings = _services()
    tenant_id = _tenant(services, tenant)
    try:
        a = services.kb.get_article(tenant_id, article_id)
    except SwitchboardError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{a.id}: {a.title}\n  url: {a.url or '-'}\n  visibility: {a.visibility}  language: {a.language}")
    typer.echo(f"  source: {a.source}\n  live version: v{a.version} ({a.content_hash[:12]})")
    for v in services.kb.versions(tenant_id, article_id):
        mark = "*" if v.live else " "
        typer.echo(f"  {mark} v{v.version} {v.created_at:%Y-%m-%d %H:%M} by {v.created_by}, {v.chunk_count} chunks")
    for c in services.kb.chunks_of(tenant_id, [article_id]):
        typer.echo(f"  [{c.ordinal}] {c.section}: {c.text[:100].replace(chr(10), ' ')}")
    services.close()


@kb_app.command("delete")
def delete(article_id: str, tenant: TenantOpt = None) -> None:
    """Delete an article with its versions, vectors and keyword entries."""
    services, settings = _services()
    try:
        services.kb.delete(tenant or services.default_tenant, article_id)
    except SwitchboardError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"deleted {article_id}")
    services.close()


@kb_app.command("search")
def search(
    query: str,
    tenant: TenantOpt = None,
    k: int = 5,
    public_only: Annotated[bool, typer.Option("--public-only", help="what customers may see")] = False,
) -> None:
    """Hybrid search as the bot (--public-only) or the copilot sees it."""
    services, settings = _services()
    vis = {Visibility.public} if public_only else {Visibility.public, Visibility.internal}
    passages = services.retriever.search(query, k=k, filters=Filters(_tenant(services, tenant), frozenset(vis)))
    for n, p in enumerate(passages, start=1):
        typer.echo(f"{n}. {p.article_id} v{p.version} [{p.visibility.value}] {p.title} > {p.section}")
        typer.echo(f"   {p.text[:160].replace(chr(10), ' ')}")
    if not passages:
        typer.echo("no results")
    services.close()
