"""The company eval's report: ``report.json`` (this model) and ``report.html`` (``render_html``)."""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from pathlib import Path

from pydantic import BaseModel, Field

from evals.company.metrics import HEADLINE
from evals.company.verdicts import CaseVerdict, CopilotVerdict
from evals.html import CSS

__all__ = ["CompanyReport", "metrics_table", "render_html"]


class CompanyReport(BaseModel):
    company: str
    folder: str
    tenant_id: str
    command: str = ""
    started_at: datetime
    seconds: float = 0.0
    reference_date: str
    clock: str  # the bot's pinned wall clock (ISO, tenant timezone)
    pipeline: dict[str, object] = Field(default_factory=dict)
    onboarding: dict[str, object] = Field(default_factory=dict)
    metrics: dict[str, float | int | None] = Field(default_factory=dict)
    support: dict[str, int] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)
    bot: list[CaseVerdict] = Field(default_factory=list)
    copilot: list[CopilotVerdict] = Field(default_factory=list)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "report.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(path)  # never a half-written report
        return path

    @classmethod
    def load(cls, path: Path) -> CompanyReport:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))


def _fmt(value: float | int | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}"


def metrics_table(report: CompanyReport, names: tuple[str, ...] = HEADLINE) -> str:
    """A compact plain-text table: metric, value, and the counts behind it."""
    lines = [f"{'metric':<32} {'value':>8}  counts"]
    for name in names:
        value = report.metrics.get(name)
        n = report.support.get(name, 0)
        hits = report.counts.get(name)
        behind = f"{hits}/{n}" if hits is not None else f"n={n}"
        lines.append(f"{name:<32} {_fmt(value):>8}  {behind}")
    return "\n".join(lines)


def _transcript_bot(v: CaseVerdict) -> str:
    t = v.transcript
    if t is None:
        return ""
    parts = []
    for turn in t.turns:
        parts.append(f'<div class="turn cust">{escape(turn.customer)}</div>')
        cls = "handoff" if turn.handoff else "bot"
        meta = [f"kind={turn.kind}", f"mode={turn.mode}", f"state={turn.state}", f"{turn.latency_s:.2f}s"]
        if turn.citations:
            meta.append("cites " + ", ".join(f"{c.article_id}({c.visibility})" for c in turn.citations))
        if turn.handoff:
            meta.append(f"handoff {turn.handoff.reason} → {turn.handoff.queue}")
        if turn.action:
            a = turn.action
            meta.append(f"action {a.name} {a.status} args={a.args} awaiting={a.awaiting} executed={a.executed}")
        parts.append(
            f'<div class="turn {cls}">{escape(turn.reply)}<div class="meta">{escape(" · ".join(meta))}</div></div>'
        )
    if t.retrieved:
        parts.append(f'<div class="meta">retrieved: {escape(", ".join(t.retrieved))}</div>')
    return "".join(parts)


def _transcript_copilot(v: CopilotVerdict) -> str:
    t = v.transcript
    if t is None:
        return ""
    parts = [
        f'<div class="turn {"cust" if m["role"] == "customer" else "bot"}"><b>{escape(m["role"])}</b>: '
        f"{escape(m['text'])}</div>"
        for m in t.conversation
    ]
    if t.seen:
        s = t.seen
        arts = ", ".join(f"{a.article_id}({a.visibility})" for a in s.articles)
        parts.append(f'<div class="meta">articles: {escape(arts)} · next action: {escape(str(s.next_action))}</div>')
        for g in s.guidance:
            parts.append(f'<div class="passage">{escape(g)}</div>')
        for r in s.replies:
            parts.append(f'<div class="turn bot">suggested: {escape(r.text)}</div>')
    return "".join(parts)


def render_html(report: CompanyReport, path: Path) -> Path:
    """A self-contained HTML page (the style of ``evals.html``): headline metrics, then every
    case with its verdict, the reasons it failed and the transcript."""
    cards = "".join(
        f'<div class="card"><b>{_fmt(report.metrics.get(n))}</b><span>{escape(n)}'
        f" ({report.counts.get(n, '')}{'/' if n in report.counts else 'n='}{report.support.get(n, 0)})</span></div>"
        for n in HEADLINE
    )
    other = "".join(
        f"<tr><td>{escape(k)}</td><td>{_fmt(v)}</td><td>{report.counts.get(k, '')}</td>"
        f"<td>{report.support.get(k, 0)}</td></tr>"
        for k, v in report.metrics.items()
    )
    rows = []
    for v in report.bot:
        status = "pass" if v.passed else ("error" if v.error else "fail")
        why = "<br>".join(escape(f) for f in v.failures + v.unsupported)
        notes = "<br>".join(escape(n) for n in v.notes)
        rows.append(
            f'<tr><td>{escape(v.id)}</td><td>{escape(v.kind)}</td><td class="st-{status}">{status}</td>'
            f"<td>{v.score:.2f}</td><td>{why}<div class=meta>{notes}</div></td>"
            f"<td><details><summary>transcript</summary>{_transcript_bot(v)}</details></td></tr>"
        )
    cop_rows = []
    for c in report.copilot:
        status = "pass" if c.passed else ("error" if c.error else "fail")
        why, notes = "<br>".join(map(escape, c.failures)), "<br>".join(map(escape, c.notes))
        cop_rows.append(
            f'<tr><td>{escape(c.id)}</td><td class="st-{status}">{status}</td>'
            f"<td>{why}<div class=meta>{notes}</div></td>"
            f"<td><details><summary>console</summary>{_transcript_copilot(c)}</details></td></tr>"
        )
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{escape(report.company)} — company eval</title><style>{CSS}</style></head><body><main>
<h1>{escape(report.company)} — company eval</h1>
<div class="sub">{escape(report.folder)} · tenant {escape(report.tenant_id)} · today {escape(report.reference_date)}
 (clock {escape(report.clock)}) · {len(report.bot)} bot + {len(report.copilot)} copilot cases in {report.seconds:.0f}s
 · <code>{escape(report.command)}</code></div>
<div class="cards">{cards}</div>
<h2>Bot cases</h2><table><tr><th>id</th><th>kind</th><th>verdict</th><th>credit</th><th>why</th><th></th></tr>
{"".join(rows)}</table>
<h2>Copilot cases</h2><table><tr><th>id</th><th>verdict</th><th>why</th><th></th></tr>{"".join(cop_rows)}</table>
<h2>All metrics</h2><table><tr><th>metric</th><th>value</th><th>hits</th><th>n</th></tr>{other}</table>
<h2>Pipeline</h2><div class="panel"><pre>{escape(json.dumps(report.pipeline, indent=2, default=str))}</pre></div>
</main></body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
