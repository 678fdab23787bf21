"""``switchboard evals``: run suites, compare runs, list suites.

The in-process target lives here (not in ``evals``) because it drives
``server.service.ConversationService`` over ``server.container.Services`` — what the product
runs — and ``evals`` may not import ``server`` (house plan). See docs/evals.md.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import TextIO

import typer

from bot.intents import IntentClassifier, IntentConfig
from core.db.schema import Message
from core.errors import SwitchboardError
from core.models import CHAT_MODELS
from core.settings import Settings
from core.types import Author, Passage, Turn
from evals.compare import compare, render_compare
from evals.errors import CaseError
from evals.html import write_html
from evals.http_target import HttpTarget
from evals.instruments import CaseClock, CountingChatModel
from evals.judge import Judge
from evals.pipeline import kb_version
from evals.report import RunReport
from evals.runner import RunConfig, run_suite
from evals.suite import bundled_suites, load_suite
from evals.target import HandoffObs, Session, Suggested, SummaryObs, Target, TurnObs
from knowledge.context import PUBLIC
from knowledge.documents import Document
from server.auth import Principal, Role
from server.container import Services
from server.demo import load_demo
from server.service import ConversationService

evals_app = typer.Typer(help="Offline eval suites: run, compare, list.", no_args_is_help=True)

# Dataset tenants: no business hours (always open), English.
_DATASET_TENANT = {"name": "Eval", "languages": ["en"], "site_secret": "eval-site-secret"}


class ServiceTarget:
    """The product in-process: ConversationService over Services, with a token counter around
    the chat model and a per-case clock in the bot."""

    name = "in-process"

    def __init__(self, services: Services) -> None:
        self.services = services
        self.conversations = ConversationService(services)
        self.clock = CaseClock()
        if hasattr(services.bot, "clock"):
            services.bot.clock = self.clock
        self._intents: IntentClassifier | None = None
        self._lock = threading.Lock()
        self._loaded_demo: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceTarget:
        chat = CountingChatModel(CHAT_MODELS.create(settings.chat_backend, settings))
        return cls(Services(settings, chat_override=chat))

    def _principal(self, session: Session) -> Principal:
        return Principal(
            role=Role.customer,
            tenant_id=session.tenant,
            customer_id=session.customer_id,
            visitor_id=session.token,
        )

    def prepare_tenant(self, tenant: str, documents: list[Document], *, demo: bool) -> str:
        with self._lock:
            store = self.services.store
            if demo and tenant not in self._loaded_demo:
                load_demo(self.services, tenant=tenant)
                self._loaded_demo.add(tenant)
            elif not demo:
                store.ensure_tenant(tenant, tenant, _DATASET_TENANT)
            if documents:
                report = self.services.kb.load_documents(tenant, documents, actor="evals")
                if report.errors:
                    first = next(iter(report.errors.items()))
                    raise CaseError(f"{len(report.errors)} documents failed to load, e.g. {first[0]}: {first[1]}")
            return kb_version((a.id, a.version) for a in self.services.kb.list_articles(tenant))

    def add_note(self, tenant: str, customer_id: str, text: str) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder)
            (path / "customers.json").write_text(
                json.dumps([{"id": customer_id, "name": "Eval Customer", "email": "eval@example.com"}])
            )
            (path / "notes.json").write_text(
                json.dumps(
                    [
                        {
                            "id": f"note_{uuid.uuid4().hex[:8]}",
                            "customer_id": customer_id,
                            "text": text,
                            "author": "Eval",
                            "created_at": "2026-11-01T10:00:00Z",
                        }
                    ]
                )
            )
            with self._lock:
                self.services.crm.import_folder(tenant, path)

    def open(self, tenant: str, customer_id: str | None, at: datetime | None) -> Session:
        session = Session(tenant=tenant, customer_id=customer_id, token=f"eval-{uuid.uuid4().hex[:12]}", at=at)
        conv = self.conversations.start(self._principal(session))
        session.conversation_id = conv.id
        return session

    def _counter(self) -> CountingChatModel | None:
        chat = self.services.chat
        return chat if isinstance(chat, CountingChatModel) else None

    def send(self, session: Session, text: str) -> TurnObs:
        self.clock.set(session.at)
        counter = self._counter()
        if counter is not None:
            counter.take()
        start = time.perf_counter()
        result = self.conversations.post_customer_message(self._principal(session), session.conversation_id, text)
        latency = time.perf_counter() - start
        prompt, completion = counter.take() if counter is not None else (0, 0)
        meta: dict[str, object] = {}
        if result.replies:
            with self.services.store.session(session.tenant) as s:
                row = s.get(Message, result.replies[-1].id)
                meta = dict(row.meta or {}) if row is not None else {}
        last = result.replies[-1] if result.replies else None
        brief = result.handoff
        return TurnObs(
            customer=text,
            reply=" ".join(m.text for m in result.replies).strip(),
            kind="handoff" if brief else (last.kind if last else "silent"),
            mode=str(meta.get("mode") or ""),
            cited=[c.article_id for c in last.citations] if last else [],
            grounding=last.grounding if last else None,
            intent=str(meta["intent"]) if meta.get("intent") else (brief.intent if brief else None),
            action=str(meta["action"]) if meta.get("action") else None,
            handoff=HandoffObs(
                reason=brief.reason.value, queue=brief.queue, priority=brief.priority, summary=brief.summary
            )
            if brief
            else None,
            latency_s=latency,
            prompt_tokens=prompt,
            completion_tokens=completion,
        )

    @staticmethod
    def _turns(history: list[str]) -> list[Turn]:
        return [Turn(author=Author.customer, text=h) for h in history]

    def retrieve(self, tenant: str, history: list[str], customer_id: str | None, k: int) -> list[Passage]:
        ctx = self.services.context.context(
            tenant, self._turns(history), customer_id=customer_id, visibilities=PUBLIC, k=k
        )
        return ctx.passages

    def suggest(self, tenant: str, history: list[str], customer_id: str | None) -> Suggested:
        start = time.perf_counter()
        out = self.services.copilot.suggest(
            tenant, self._turns(history), customer_id=customer_id, message_seq=len(history)
        )
        return Suggested(article_ids=[a.article_id for a in out.articles], latency_s=time.perf_counter() - start)

    def summarize(self, tenant: str, messages: list[tuple[str, str]], customer_id: str | None) -> SummaryObs:
        """The after-contact summary the agent console shows (summary text and disposition)."""
        turns = [Turn(author=Author(role), text=text) for role, text in messages]
        handed_off = any(t.author == Author.agent for t in turns)
        out = self.services.summarizer.after_contact(turns, handed_off=handed_off)
        return SummaryObs(text=out.summary, disposition=out.disposition)

    def train_intents(self, texts: list[str], labels: list[str]) -> None:
        # A label set without "oos" has no out-of-scope class: always take the best intent.
        config = IntentConfig() if "oos" in labels else IntentConfig(oos_threshold=0.0)
        self._intents = IntentClassifier(self.services.embedder, config).fit(texts, labels)

    def classify(self, text: str) -> tuple[str | None, float]:
        clf = self._intents or self.services.intents.for_tenant(self.services.default_tenant)
        if clf is None:
            raise CaseError("no intent classifier: the tenant has no NLU file and the suite trained none")
        p = clf.predict(text)
        return p.intent, p.confidence

    def classify_many(self, texts: list[str]) -> list[tuple[str | None, float]]:
        clf = self._intents or self.services.intents.for_tenant(self.services.default_tenant)
        if clf is None:
            raise CaseError("no intent classifier: the tenant has no NLU file and the suite trained none")
        return [(p.intent, p.confidence) for p in clf.predict_many(texts)]

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"target": "in-process", **self.services.describe()}
        describe_bot = getattr(self.services.bot, "describe", None)
        if callable(describe_bot):
            out["bot"] = describe_bot()
        if self._intents is not None:
            out["intents"] = self._intents.describe()
        return out

    def close(self) -> None:
        self.services.close()


def eval_settings(data_dir: Path, **overrides: object) -> Settings:
    """The process settings with a throwaway data dir and no rate limits (the harness is not abuse).
    The exported embedder (``core/models/minilm_onnx.py``) is not in the data dir but in the
    machine's cache (``Settings.resolved_embedder_cache_dir``), so no run exports it again."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "messages_per_minute_per_session": 1_000_000,
        "messages_per_minute_per_tenant": 1_000_000,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def make_target(settings: Settings, url: str | None, api_key: str) -> Target:
    """The system under test: a running server (``--url``) or the product in-process."""
    return HttpTarget(url, api_key=api_key) if url else ServiceTarget.from_settings(settings)


def _default_out(suite: str) -> Path:
    return Path("var") / "evals" / f"{suite}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"


@evals_app.command("run")
def run(
    suite: str = typer.Argument(..., help="bundled suite name (see 'switchboard evals list') or a .yaml/.jsonl path"),
    url: str | None = typer.Option(None, help="run against a running server instead of in-process"),
    api_key: str = typer.Option("dev-editor-key", help="staff API key for --url (KB search and article list)"),
    workers: int = typer.Option(2, min=1, help="cases run in parallel (the llama model serialises calls anyway)"),
    seed: int = typer.Option(7, help="seeds sampling and the models"),
    limit: int | None = typer.Option(None, min=1, help="at most this many cases (dataset suites sample, seeded)"),
    out: Path | None = typer.Option(None, help="JSON report path (an .html is written next to it)"),
    data_dir: Path | None = typer.Option(None, help="keep the eval store/index here instead of a temp dir"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Run one suite; exit 1 when a threshold of the suite is missed (CI gate), 2 on a bad suite."""
    try:
        loaded = load_suite(suite)
    except SwitchboardError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    tmp = tempfile.TemporaryDirectory(prefix="switchboard-evals-") if data_dir is None else None
    root = data_dir or Path(tmp.name)  # type: ignore[union-attr]
    settings = eval_settings(root, llama_seed=seed)
    console = _console()
    target = make_target(settings, url, api_key)
    config = RunConfig(
        workers=workers,
        seed=seed,
        limit=limit,
        progress=not quiet,
        command=" ".join(["switchboard", "evals", "run", *map(shlex.quote, sys.argv[3:])]),
    )
    try:
        report = run_suite(loaded, target, config, Judge.from_settings(settings))
        path = report.save(out or _default_out(loaded.name))
        html = write_html(report, path.with_suffix(".html"))
        _print_summary(report, console)
        typer.echo(f"report: {path}\nhtml:   {html}", file=console)
        console.flush()
    except SwitchboardError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        close = getattr(target, "close", None)
        if callable(close):
            close()
        if tmp is not None:
            tmp.cleanup()
    if not report.gate_ok:
        raise typer.Exit(1)


def _console() -> TextIO:
    """A private copy of stdout: llama.cpp points the process's fd 1 at /dev/null while it loads
    a model, and concurrent loads can leave it there, which would swallow the summary."""
    try:
        return os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    except (OSError, ValueError, io.UnsupportedOperation):
        return sys.stdout  # not a real file (e.g. the test runner's capture)


def _print_summary(report: RunReport, file: TextIO) -> None:
    c = report.counts
    typer.echo(
        f"{report.suite}: {len(report.cases)} cases in {report.seconds:.1f}s - "
        f"{c.get('pass', 0)} pass, {c.get('fail', 0)} fail, {c.get('error', 0)} error",
        file=file,
    )
    for name, value in report.metrics.items():
        typer.echo(f"  {name:<34} {value:>10.4g}  (n={report.support.get(name, 0)})", file=file)
    for t in report.thresholds:
        mark = "ok  " if t.ok else "MISS"
        actual = "n/a" if t.actual is None else f"{t.actual:.4g}"
        typer.echo(f"  [{mark}] {t.metric} {t.rule} (actual {actual})", file=file)


@evals_app.command("compare")
def compare_cmd(
    run_a: Path = typer.Argument(..., help="baseline report (JSON)"),
    run_b: Path = typer.Argument(..., help="candidate report (JSON)"),
    tolerance: float = typer.Option(0.02, help="a drop larger than this (absolute) is a regression"),
) -> None:
    """Show metric deltas from RUN_A to RUN_B; exit 1 when RUN_B regresses."""
    result = compare(RunReport.load(run_a), RunReport.load(run_b), tolerance=tolerance)
    typer.echo(render_compare(result))
    if result.regressions:
        raise typer.Exit(1)


@evals_app.command("html")
def html_cmd(report: Path = typer.Argument(..., help="a JSON report")) -> None:
    """Render a JSON report as self-contained HTML next to it."""
    typer.echo(write_html(RunReport.load(report), report.with_suffix(".html")))


@evals_app.command("list")
def list_cmd() -> None:
    """The bundled suites."""
    for name in bundled_suites():
        s = load_suite(name)
        size = f"{len(s.cases)} cases" if s.source is None else f"from {s.source.dataset}"
        typer.echo(f"{name:<16} {size:<16} {s.description}")
