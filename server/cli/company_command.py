"""``switchboard evals company DIR``: the command. It loads the case file, onboards the folder
into a throw-away data dir (``server.cli.company.CompanyRun``), plays and scores every case
(``evals.company``), and writes the report (report.json, report.html) with a metrics table on
the console. See docs/evals.md, "Company evals".
"""

from __future__ import annotations

import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from core.errors import SwitchboardError
from evals.company import (
    CompanyReport,
    compute_metrics,
    load_case_file,
    metrics_table,
    render_html,
    score_bot,
    score_copilot,
)
from server.cli.company import CompanyRun, RecordingBus, business_clock
from server.cli.evals import _console, eval_settings
from server.container import Services

__all__ = ["company_cmd"]


def _progress(console: Any, i: int, n: int, what: str, ok: bool, seconds: float) -> None:
    typer.echo(f"  [{i}/{n}] {what:<14} {'pass' if ok else 'FAIL'}  {seconds:5.1f}s", file=console)


def company_cmd(
    folder: Path = typer.Argument(..., help="a company folder: cases.yaml, tenant.yaml, kb/, crm.json"),
    out: Path | None = typer.Option(
        None, help="report folder (report.json, report.html); default var/evals/company-<name>-<time>"
    ),
    case: list[str] = typer.Option([], "--case", help="only this case id (repeatable)"),
    kind: list[str] = typer.Option([], "--kind", help="only this kind (repeatable; 'copilot' for the copilot cases)"),
    limit: int | None = typer.Option(None, min=1, help="at most N bot cases and N copilot cases"),
    copilot: bool = typer.Option(True, "--copilot/--no-copilot", help="play the copilot cases"),
    keep_data: bool = typer.Option(False, "--keep-data", help="keep the throw-away data dir (its path is printed)"),
    k: int = typer.Option(5, min=1, help="retrieval cut-off for recall@k / MRR"),
    fake_models: bool = typer.Option(False, "--fake-models", hidden=True, help="tests: the shipped fake models"),
) -> None:
    """Onboard FOLDER into a throw-away data dir, play its cases over the product and score
    them by the folder's rules. Writes report.json and report.html; exit 2 on a bad folder."""
    console = _console()
    started = datetime.now(UTC)
    t_start = time.perf_counter()
    try:
        cases = load_case_file(folder)
        bot_cases, cop_cases = cases.select(case or None, kind or None, limit)
    except SwitchboardError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not copilot:
        cop_cases = []
    tmp = tempfile.mkdtemp(prefix="switchboard-company-")
    overrides: dict[str, object] = {}
    if fake_models:
        overrides = {"chat_backend": "fake", "embedder_backend": "fake", "environment": "test"}
    clock: list[datetime] = [datetime.now(UTC)]
    services = Services(eval_settings(Path(tmp), **overrides), clock_override=lambda: clock[0])
    run = CompanyRun(folder.resolve(), cases, services, clock)
    try:
        run.bus = RecordingBus(services.bus)
        services.__dict__["bus"] = run.bus  # before anything that publishes is built
        try:
            run.onboard()
        except SwitchboardError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        assert run.config is not None
        moment, open_ = business_clock(run.config, cases.reference_date)
        clock[0] = moment
        if not open_:
            typer.echo(
                f"warning: {run.tenant_id} is closed on {cases.reference_date}; handoffs are after-hours", file=console
            )
        src = run.sources()
        typer.echo(
            f"{run.tenant_id}: {len(src.articles)} articles, {len(src.customers)} customers; "
            f"{len(bot_cases)} bot + {len(cop_cases)} copilot cases; clock {moment.isoformat()}",
            file=console,
        )
        bot_verdicts = []
        for i, c in enumerate(bot_cases, start=1):
            t0 = time.perf_counter()
            v = score_bot(c, run.play_bot(c, k=k), src, k=k)
            bot_verdicts.append(v)
            _progress(console, i, len(bot_cases), c.id, v.passed, time.perf_counter() - t0)
        cop_verdicts = []
        for i, cc in enumerate(cop_cases, start=1):
            t0 = time.perf_counter()
            cv = score_copilot(cc, run.play_copilot(cc), src)
            cop_verdicts.append(cv)
            _progress(console, i, len(cop_cases), cc.id, cv.passed, time.perf_counter() - t0)
        metrics, support, counts = compute_metrics(bot_verdicts, cop_verdicts, k=k)
        report = CompanyReport(
            company=cases.company or run.tenant_id,
            folder=str(run.folder),
            tenant_id=run.tenant_id,
            command=" ".join(["switchboard", "evals", "company", *map(shlex.quote, sys.argv[3:])]),
            started_at=started,
            seconds=round(time.perf_counter() - t_start, 1),
            reference_date=cases.reference_date.isoformat(),
            clock=moment.isoformat(),
            pipeline={**services.describe(), "retrieval_k": k},
            onboarding=run.onboarding,
            metrics=metrics,
            support=support,
            counts=counts,
            bot=bot_verdicts,
            copilot=cop_verdicts,
        )
        target = out or Path("var") / "evals" / f"company-{run.tenant_id}-{started.strftime('%Y%m%d-%H%M%S')}"
        path = report.save(target)
        html = render_html(report, target / "report.html")
        typer.echo(metrics_table(report), file=console)
        typer.echo(
            f"{len(bot_verdicts)} bot + {len(cop_verdicts)} copilot cases in {report.seconds:.0f}s", file=console
        )
        typer.echo(f"report: {path}\nhtml:   {html}", file=console)
        if keep_data:
            typer.echo(f"data:   {tmp}", file=console)
        console.flush()
    finally:
        run.close()
        services.close()
        if not keep_data:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
