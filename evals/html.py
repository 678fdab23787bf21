"""A self-contained HTML report (inline CSS and SVG, no CDN): headline, thresholds, per-metric
bars, a latency histogram, and a failures table with the transcript and retrieved passages."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import numpy as np

from evals.compare import lower_is_better
from evals.report import CaseResult, RunReport

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.sub{color:#5b6575;margin-bottom:16px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #e2e5ea;border-radius:8px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:22px}.card span{color:#5b6575;font-size:12px}
.pass b{color:#1a7f37}.fail b{color:#b42318}.error b{color:#9a6700}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e2e5ea;border-radius:8px}
th,td{text-align:left;padding:7px 10px;border-top:1px solid #eef0f3;vertical-align:top;overflow-wrap:anywhere}
th{background:#f0f2f5;font-weight:600;border-top:none}
.ok{color:#1a7f37;font-weight:600}.miss{color:#b42318;font-weight:600}
.panel{background:#fff;border:1px solid #e2e5ea;border-radius:8px;padding:12px 16px}
.grid{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px}
.turn{margin:4px 0;padding:6px 10px;border-radius:6px;white-space:pre-wrap}
.cust{background:#eef4ff}.bot{background:#f3f4f6}.handoff{background:#fff4e5}
.meta{color:#5b6575;font-size:12px}
.passage{font-size:12px;color:#374151;border-left:3px solid #cbd5e1;padding:2px 8px;margin:4px 0;white-space:pre-wrap}
.hit{border-left-color:#1a7f37}
.tag{display:inline-block;background:#eef0f3;border-radius:4px;padding:0 6px;margin:1px;font-size:12px}
details summary{cursor:pointer;color:#1f4fd1}
pre{white-space:pre-wrap;font-size:12px}
.st-fail{color:#b42318;font-weight:600}.st-error{color:#9a6700;font-weight:600}
"""


def _metric_bars(report: RunReport) -> str:
    rows = [
        (k, v)
        for k, v in report.metrics.items()
        if 0.0 <= v <= 1.0 and not k.startswith(("latency.", "tokens.", "cases.errors"))
    ]
    if not rows:
        return "<p class=meta>No 0..1 metrics in this run.</p>"
    label_w, bar_w, row_h = 200, 330, 24
    h = row_h * len(rows) + 24
    parts = [f'<svg viewBox="0 0 {label_w + bar_w + 90} {h}" width="100%" role="img" aria-label="metric bars">']
    for x in (0, 0.25, 0.5, 0.75, 1.0):
        gx = label_w + x * bar_w
        parts.append(f'<line x1="{gx}" y1="0" x2="{gx}" y2="{h - 18}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{gx}" y="{h - 4}" font-size="11" text-anchor="middle" fill="#6b7280">{x:g}</text>')
    for i, (name, value) in enumerate(rows):
        y = i * row_h + 4
        bad = lower_is_better(name)
        color = ("#b42318" if value > 0.2 else "#1a7f37") if bad else ("#1f6feb" if value >= 0.5 else "#d97706")
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end" fill="#1d2430">'
            f"{escape(name)}</text>"
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{max(value * bar_w, 1.5):.1f}" height="16" rx="3" fill="{color}"/>'
        )
        parts.append(
            f'<text x="{label_w + value * bar_w + 6:.1f}" y="{y + 15}" font-size="12" fill="#1d2430">{value:.3f}'
            f' <tspan fill="#6b7280">n={report.support.get(name, 0)}</tspan></text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _histogram(values: list[float], title: str) -> str:
    if not values:
        return f"<p class=meta>No {escape(title)} recorded.</p>"
    bins = min(20, max(5, len(values) // 3))
    counts, edges = np.histogram(values, bins=bins)
    w, h, pad = 420, 220, 34
    bw = (w - pad - 20) / len(counts)
    top = max(int(counts.max()), 1)
    parts = [f'<svg viewBox="0 -10 {w + 10} {h + 30}" width="100%" role="img" aria-label="{escape(title)}">']
    for i, c in enumerate(counts):
        bh = (h - pad) * c / top
        x = pad + i * bw
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{h - pad - bh + 10:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" fill="#1f6feb"/>'
        )
        if c:
            parts.append(
                f'<text x="{x + bw / 2:.1f}" y="{h - pad - bh + 6:.1f}" font-size="10" text-anchor="middle">{c}</text>'
            )
    for i in range(0, len(edges), max(1, len(edges) // 5)):
        x = pad + i * bw
        parts.append(
            f'<text x="{x:.1f}" y="{h - pad + 24}" font-size="10" text-anchor="middle" fill="#6b7280">'
            f"{edges[i]:.1f}s</text>"
        )
    p50, p95 = np.percentile(values, 50), np.percentile(values, 95)
    parts.append(f'<line x1="{pad}" y1="{h - pad + 10}" x2="{w}" y2="{h - pad + 10}" stroke="#9ca3af"/>')
    parts.append(
        f'<text x="{w}" y="{h + 14}" font-size="11" text-anchor="end" fill="#374151">'
        f"n={len(values)}  p50={p50:.2f}s  p95={p95:.2f}s</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _transcript(case: CaseResult) -> str:
    out = []
    for t in case.turns:
        out.append(f'<div class="turn cust"><span class=meta>customer</span>\n{escape(t.customer)}</div>')
        if t.handoff is not None:
            out.append(
                f'<div class="turn handoff"><span class=meta>handoff · {escape(t.handoff.reason)} → '
                f"{escape(t.handoff.queue)} · {t.latency_s:.2f}s</span>\n{escape(t.reply)}</div>"
            )
        elif t.reply or t.kind:
            bits = [
                t.kind,
                t.mode,
                f"grounding {t.grounding:.2f}" if t.grounding is not None else "",
                f"intent {t.intent}" if t.intent else "",
                f"action {t.action}" if t.action else "",
                f"cites {', '.join(t.cited)}" if t.cited else "",
                f"{t.latency_s:.2f}s",
            ]
            meta = " · ".join(b for b in bits if b)
            out.append(f'<div class="turn bot"><span class=meta>bot · {escape(meta)}</span>\n{escape(t.reply)}</div>')
    if case.summary is not None:
        label = f"summary · disposition {case.disposition}" if case.disposition else "summary"
        out.append(f'<div class="turn bot"><span class=meta>{escape(label)}</span>\n{escape(case.summary)}</div>')
    if case.predicted_intent is not None and case.kind == "intent":
        out.append(f"<div class=meta>predicted intent: {escape(case.predicted_intent)}</div>")
    return "".join(out)


def _passages(case: CaseResult) -> str:
    if not case.retrieved and not case.suggested:
        return "<span class=meta>none</span>"
    wanted = set(case.expect.articles)
    out = []
    for i, p in enumerate(case.retrieved, start=1):
        cls = "passage hit" if p.article_id in wanted else "passage"
        text = p.text if len(p.text) <= 280 else p.text[:280] + "…"
        out.append(f'<div class="{cls}"><b>{i}. {escape(p.article_id)}</b> · {escape(p.title)}\n{escape(text)}</div>')
    if case.suggested:
        out.append(f"<div class=meta>copilot suggested: {escape(', '.join(case.suggested))}</div>")
    return "".join(out)


def _failures(report: RunReport, limit: int = 200) -> str:
    bad = [c for c in report.cases if c.status != "pass"]
    if not bad:
        return "<p>Every case passed.</p>"
    rows = []
    for c in bad[:limit]:
        why = escape(c.error) if c.error else "<br>".join(escape(f) for f in c.failures)
        tags = "".join(f"<span class=tag>{escape(t)}</span>" for t in c.tags[:6])
        rows.append(
            f"<tr><td><b>{escape(c.id)}</b><br><span class=st-{c.status}>{c.status}</span>"
            f"<br><span class=meta>{c.kind} · {c.seconds:.1f}s</span><br>{tags}</td>"
            f"<td>{why}</td><td>{_transcript(c)}</td><td>{_passages(c)}</td></tr>"
        )
    more = f"<p class=meta>{len(bad) - limit} more not shown (see the JSON report).</p>" if len(bad) > limit else ""
    return (
        '<table><colgroup><col style="width:14%"><col style="width:20%"><col style="width:36%"><col style="width:30%">'
        "</colgroup><tr><th>case</th><th>why</th><th>transcript</th><th>retrieved passages</th></tr>"
        + "".join(rows)
        + "</table>"
        + more
    )


def render_html(report: RunReport) -> str:
    c = report.counts
    cards = [
        ("pass", c.get("pass", 0), "pass"),
        ("fail", c.get("fail", 0), "fail"),
        ("error", c.get("error", 0), "error"),
        ("", f"{report.seconds:.1f}s", "run time"),
    ]
    for key, label, unit in (
        ("latency.turn_p50_s", "turn latency p50", "s"),
        ("latency.turn_p95_s", "turn latency p95", "s"),
        ("tokens.per_case", "tokens per case", ""),
    ):
        if key in report.metrics:
            cards.append(("", f"{report.metrics[key]:.3g}{unit}", label))
    card_html = "".join(
        f'<div class="card {cls}"><b>{escape(str(v))}</b><span>{escape(label)}</span></div>' for cls, v, label in cards
    )
    if report.thresholds:
        th = "".join(
            f"<tr><td>{escape(t.metric)}</td><td>{escape(t.rule)}</td>"
            f"<td>{'n/a' if t.actual is None else f'{t.actual:.4g}'}</td>"
            f"<td class={'ok' if t.ok else 'miss'}>{'ok' if t.ok else 'MISSED'}</td></tr>"
            for t in report.thresholds
        )
        gate = "passed" if report.gate_ok else "FAILED"
        head = "<tr><th>metric</th><th>rule</th><th>actual</th><th></th></tr>"
        thresholds = f"<h2>Thresholds — gate {gate}</h2><table>{head}{th}</table>"
    else:
        thresholds = ""
    metric_rows = "".join(
        f"<tr><td>{escape(k)}</td><td>{v:.4g}</td><td>{report.support.get(k, 0)}</td></tr>"
        for k, v in report.metrics.items()
    )
    latencies = [t.latency_s for case in report.cases for t in case.turns if t.latency_s > 0]
    sample = (
        f" · sample of {len(report.cases)} of {report.cases_total}" if report.cases_total > len(report.cases) else ""
    )
    pipeline = escape(json.dumps(report.pipeline, indent=2, default=str))
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<title>Switchboard eval · {escape(report.suite)}</title><style>{CSS}</style></head><body><main>
<h1>Eval report · {escape(report.suite)}</h1>
<div class=sub>{escape(report.description)}<br>{report.started_at:%Y-%m-%d %H:%M UTC} · target {escape(report.target)}
 · {len(report.cases)} cases{sample} · seed {report.seed} · {report.workers} workers
 · KB {escape(str(report.pipeline.get("kb_version") or "-"))}<br><code>{escape(report.command)}</code></div>
<div class=cards>{card_html}</div>
{thresholds}
<h2>Metrics</h2>
<div class=grid><div class=panel>{_metric_bars(report)}</div>
<div class=panel><b>Turn latency</b><br>{_histogram(latencies, "turn latency")}</div></div>
<details><summary>All metrics (with the number of cases each is over)</summary>
<table><tr><th>metric</th><th>value</th><th>n</th></tr>{metric_rows}</table></details>
<h2>Failures and errors</h2>
{_failures(report)}
<h2>Pipeline</h2><details><summary>models, prompt hashes, KB version, settings</summary><pre>{pipeline}</pre></details>
</main></body></html>"""


def write_html(report: RunReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
