"""Compare two runs: metric deltas, regressions, cases that went from pass to fail, and what
changed in the pipeline (models, prompts, KB version)."""

from __future__ import annotations

from dataclasses import dataclass, field

from evals.report import RunReport

LOWER_IS_BETTER_PREFIXES = ("latency.", "tokens.")
LOWER_IS_BETTER = frozenset(
    {"cases.errors", "injection.attack_success_rate", "persona.handed_off_wrongly", "persona.looped"}
)
RELATIVE_TOLERANCE = 0.2  # latency and tokens: a regression is 20% worse


def lower_is_better(metric: str) -> bool:
    return metric in LOWER_IS_BETTER or metric.startswith(LOWER_IS_BETTER_PREFIXES)


@dataclass
class Delta:
    metric: str
    a: float | None
    b: float | None
    regression: bool = False

    @property
    def change(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass
class Comparison:
    a: str
    b: str
    deltas: list[Delta]
    newly_failing: list[str] = field(default_factory=list)
    newly_passing: list[str] = field(default_factory=list)
    pipeline_changes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Delta]:
        return [d for d in self.deltas if d.regression]


def _is_regression(metric: str, a: float, b: float, tolerance: float) -> bool:
    if metric.startswith(LOWER_IS_BETTER_PREFIXES):
        return b > a * (1 + RELATIVE_TOLERANCE) and b - a > 1e-9
    if lower_is_better(metric):
        return b - a > tolerance
    return a - b > tolerance


def _flatten(value: object, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): str(value)}


def compare(a: RunReport, b: RunReport, tolerance: float = 0.02) -> Comparison:
    names = sorted(set(a.metrics) | set(b.metrics))
    deltas = []
    for name in names:
        va, vb = a.metrics.get(name), b.metrics.get(name)
        reg = va is not None and vb is not None and _is_regression(name, va, vb, tolerance)
        deltas.append(Delta(name, va, vb, reg))
    status_a = {c.id: c.status for c in a.cases}
    status_b = {c.id: c.status for c in b.cases}
    common = [i for i in status_a if i in status_b]
    pa, pb = _flatten(a.pipeline), _flatten(b.pipeline)
    changes = [
        f"{key}: {pa.get(key, '-')} -> {pb.get(key, '-')}"
        for key in sorted(set(pa) | set(pb))
        if pa.get(key) != pb.get(key) and not key.startswith("target.health")
    ]
    return Comparison(
        a=f"{a.suite} @ {a.started_at:%Y-%m-%d %H:%M}",
        b=f"{b.suite} @ {b.started_at:%Y-%m-%d %H:%M}",
        deltas=deltas,
        newly_failing=[i for i in common if status_a[i] == "pass" and status_b[i] != "pass"],
        newly_passing=[i for i in common if status_a[i] != "pass" and status_b[i] == "pass"],
        pipeline_changes=changes,
    )


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def render_compare(c: Comparison) -> str:
    lines = [f"A: {c.a}", f"B: {c.b}", "", f"{'metric':<34} {'A':>10} {'B':>10} {'delta':>10}"]
    for d in c.deltas:
        change = "-" if d.change is None else f"{d.change:+.4g}"
        flag = "  REGRESSION" if d.regression else ""
        lines.append(f"{d.metric:<34} {_fmt(d.a):>10} {_fmt(d.b):>10} {change:>10}{flag}")
    if c.newly_failing:
        lines += ["", f"newly failing ({len(c.newly_failing)}): {', '.join(c.newly_failing[:20])}"]
    if c.newly_passing:
        lines += [f"newly passing ({len(c.newly_passing)}): {', '.join(c.newly_passing[:20])}"]
    if c.pipeline_changes:
        lines += ["", "pipeline changes:", *[f"  {x}" for x in c.pipeline_changes[:30]]]
    lines += ["", f"{len(c.regressions)} regression(s)" if c.regressions else "no regressions"]
    return "\n".join(lines)
