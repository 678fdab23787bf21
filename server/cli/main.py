"""``switchboard run`` serves the product; sub-commands manage the KB, the demo and evals."""

from __future__ import annotations

import logging
import logging.config
import time

import typer

from core.errors import ConfigurationError
from core.settings import Settings
from server.cli.company_command import company_cmd
from server.cli.evals import evals_app
from server.cli.kb import kb_app
from server.cli.tenant import crm_app, tenant_app
from server.container import Services
from server.demo import load_demo
from server.logs import log_config

app = typer.Typer(help="Switchboard: contact-center assistant.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo shop (help center and CRM).", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(kb_app, name="kb")
app.add_typer(evals_app, name="evals")
evals_app.command("company")(company_cmd)  # after evals' own commands; it uses their settings and console
app.add_typer(tenant_app, name="tenant")
app.add_typer(crm_app, name="crm")


def _configure_logging() -> None:
    """Our log configuration (server/logs.py): one logfmt access line per request on
    stdout, everything else on stderr, credentials masked in both."""
    logging.config.dictConfig(log_config())


@demo_app.command("load")
def demo_load() -> None:
    """Load the demo help center and CRM; unchanged articles are not embedded again."""
    services = Services(Settings())
    start = time.perf_counter()
    report = load_demo(services)
    kb = report.kb
    typer.echo(
        f"KB: {len(kb.added)} added, {len(kb.updated)} updated, {len(kb.unchanged)} unchanged, "
        f"{kb.chunks_embedded} chunks embedded, {len(kb.errors)} errors; "
        f"CRM: {report.crm.counts} ({time.perf_counter() - start:.1f}s)"
    )
    for source, error in kb.errors.items():
        typer.echo(f"  error {source}: {error}", err=True)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the API, the widget (/) and the agent console (/agent)."""
    import uvicorn

    _configure_logging()
    uvicorn.run("server.asgi:app", host=host, port=port, workers=workers, log_level="info", log_config=log_config())


@app.command()
def run(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Load the demo (incrementally) and serve: what ``make run`` does."""
    demo_load()
    serve(host=host, port=port)


def main() -> None:
    """The ``switchboard`` entry point: a configuration problem (a missing setting, a bad
    tenant file) is one line on stderr and exit code 2, not a traceback."""
    try:
        app()
    except ConfigurationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
