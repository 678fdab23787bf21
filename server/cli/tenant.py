"""``switchboard tenant …`` and ``switchboard crm import``: onboard a company from files."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import typer

from core.errors import NotFound, SwitchboardError
from core.settings import Settings
from core.tenancy import TenantConfigError
from server.container import Services
from server.tenants import TEMPLATE, Onboarding

tenant_app = typer.Typer(help="Tenants (companies): create, update, show, list, delete.", no_args_is_help=True)
crm_app = typer.Typer(help="CRM records: import a company's customer export.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(2)


@tenant_app.command("init")
def init(
    name: str = typer.Argument(..., help="the company's name, e.g. 'Acme Energy'"),
    out: Path | None = typer.Option(None, "--out", "-o", help="file to write (default: <slug>.yaml)"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing file"),
) -> None:
    """Write a commented configuration template to fill in."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64] or "company"
    path = out or Path(f"{slug}.yaml")
    if path.exists() and not force:
        _fail(f"{path} exists; pass --force to overwrite it")
    env = "SWITCHBOARD_" + re.sub(r"[^A-Z0-9]+", "_", slug.upper()) + "_WIDGET_SECRET"
    path.write_text(TEMPLATE.format(name=name, slug=slug, env=env), encoding="utf-8")
    typer.echo(f"wrote {path}; edit it, then: switchboard tenant apply {path}")


@tenant_app.command("apply")
def apply(file: Path = typer.Argument(..., help="the tenant's YAML configuration")) -> None:
    """Create or update a tenant from its configuration; prints what changed."""
    services = Services(Settings())
    start = time.perf_counter()
    try:
        result, ignored = Onboarding(services).apply_file(file, actor="cli")
    except TenantConfigError as exc:
        _fail(str(exc))
        return
    finally:
        services.close()
    verb = "created" if result.created else ("updated" if result.changes else "unchanged")
    typer.echo(f"tenant {result.tenant_id}: {verb} ({time.perf_counter() - start:.2f}s)")
    for line in result.changes if not result.created else []:
        typer.echo(f"  {line}")
    for field in ignored:
        typer.echo(f"  not imported (no such setting): {field}", err=True)


@tenant_app.command("show")
def show(tenant: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """Print a tenant's stored configuration."""
    services = Services(Settings())
    try:
        config = Onboarding(services).registry.get(tenant)
    except (NotFound, TenantConfigError) as exc:
        _fail(str(exc))
        return
    finally:
        services.close()
    data = config.model_dump(mode="json")
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    import yaml

    typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip())


@tenant_app.command("list")
def list_tenants() -> None:
    """List tenants (id and name)."""
    services = Services(Settings())
    try:
        for tid, name in Onboarding(services).registry.list():
            typer.echo(f"{tid}\t{name}")
    finally:
        services.close()


@tenant_app.command("delete")
def delete(
    tenant: str = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", help="confirm: erase everything of this tenant"),
) -> None:
    """Erase a tenant: configuration, KB, index, CRM, conversations, audit. Needs --yes."""
    if not yes:
        _fail(f"This erases everything of tenant {tenant!r}. Run again with --yes to confirm.")
    services = Services(Settings())
    try:
        counts = Onboarding(services).delete(tenant, actor="cli")
    except NotFound as exc:
        _fail(str(exc))
        return
    finally:
        services.close()
    total = sum(counts.values())
    parts = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    typer.echo(f"tenant {tenant}: deleted ({total} rows: {parts})")


@crm_app.command("import")
def crm_import(
    files: list[Path] = typer.Argument(..., help="JSON array, JSON Lines or CSV files of customer records"),
    tenant: str = typer.Option(..., "--tenant", "-t", help="tenant id"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="one line per record"),
) -> None:
    """Import customer records (upsert by id). Every field beyond the common ones is kept as
    custom attributes. Exit code 1 when any record failed (the others are imported)."""
    services = Services(Settings())
    start = time.perf_counter()
    try:
        reports = Onboarding(services).import_crm(tenant, files, actor="cli")
    except (NotFound, SwitchboardError) as exc:
        _fail(str(exc))
        return
    finally:
        services.close()
    failed = False
    for report in reports:
        typer.echo(report.summary())
        for r in report.results:
            if r.status == "error":
                failed = True
                where = f"record {r.index}" if r.index else "file"
                typer.echo(f"  {where}{f' ({r.id})' if r.id else ''}: {r.error}", err=True)
            elif verbose:
                typer.echo(f"  record {r.index} ({r.id}): {r.status}")
    typer.echo(f"({time.perf_counter() - start:.2f}s)")
    if failed:
        raise typer.Exit(1)
