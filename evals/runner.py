"""Run a suite against a target: parallel (a thread pool), seeded, with a progress bar.

A case that raises is reported as an *error* (with the exception) and the run goes on;
a case whose expectations are not met is a *failure*.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from evals import datasets
from evals.checks import final_reply, score_case
from evals.errors import CaseError
from evals.injection import run_attack
from evals.judge import Judge
from evals.metrics.aggregate import aggregate
from evals.personas import play
from evals.pipeline import describe_pipeline
from evals.report import CaseResult, PassageRef, RunReport, ThresholdResult
from evals.suite import Case, Suite
from evals.target import Target

log = logging.getLogger("switchboard.evals")


@dataclass
class RunConfig:
    workers: int = 2
    seed: int = 7
    limit: int | None = None  # None: the suite's default_limit (dataset suites), else every case
    progress: bool = True
    data_dir: Path | None = None  # ../shared/data by default
    command: str = ""


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def run_case(
    case: Case,
    suite: Suite,
    target: Target,
    judge: Judge | None,
    classified: dict[str, tuple[str | None, float]] | None = None,
) -> CaseResult:
    tenant = case.tenant or suite.tenant
    start = time.perf_counter()
    if case.kind == "persona":
        result = play(case, target, tenant)
    elif case.kind == "injection":
        result = run_attack(case, target, tenant)
    elif case.kind == "intent":
        result = CaseResult(id=case.id, kind="intent", tags=case.tags)
        text = case.turns[-1]
        intent, _confidence = classified[text] if classified and text in classified else target.classify(text)
        result.predicted_intent = intent or "oos"
    elif case.kind == "summary":
        result = CaseResult(id=case.id, kind="summary", tags=case.tags)
        summary = target.summarize(tenant, [(m.role, m.text) for m in case.messages], case.customer_id)
        result.summary, result.disposition = summary.text, summary.disposition
    else:
        result = _conversation(case, suite, target, tenant)
    if case.kind in ("conversation", "persona"):  # passages for the metrics and the failures table
        history = [t.customer for t in result.turns] or case.turns
        passages = target.retrieve(tenant, history, case.customer_id, suite.k)
        result.retrieved = [
            PassageRef(article_id=p.article_id, title=p.title, text=p.text, score=p.score) for p in passages
        ]
    if case.expect.suggest_articles:
        result.suggested = target.suggest(
            tenant, [t.customer for t in result.turns] or case.turns, case.customer_id
        ).article_ids
    score_case(case, result, suite.k)
    if judge is not None and case.kind == "conversation" and (reply := final_reply(result)):
        contexts = [p.text for p in result.retrieved] or case.expect.contexts
        result.scores.update(judge.score_all(case.turns[-1], reply, contexts, case.expect.answer))
    result.seconds = time.perf_counter() - start
    result.status = "fail" if result.failures else "pass"
    return result


def _conversation(case: Case, suite: Suite, target: Target, tenant: str) -> CaseResult:
    result = CaseResult(id=case.id, kind="conversation", tags=case.tags)
    session = target.open(tenant, case.customer_id, case.at)
    for text in case.turns:
        obs = target.send(session, text)
        result.turns.append(obs)
        if obs.handoff is not None:
            break  # a human owns the conversation now; the bot stays silent
    return result


def _safe_run(
    case: Case, suite: Suite, target: Target, judge: Judge | None, classified: dict[str, tuple[str | None, float]]
) -> CaseResult:
    try:
        return run_case(case, suite, target, judge, classified)
    except Exception as exc:  # noqa: BLE001 - any failure of one case is reported as that case's error
        log.debug("case %s errored", case.id, exc_info=True)
        return CaseResult(
            id=case.id,
            kind=case.kind or "conversation",
            tags=case.tags,
            status="error",
            error=f"{type(exc).__name__}: {exc}",
            expect=case.expect,
        )


def _classify_in_batch(suite: Suite, target: Target) -> dict[str, tuple[str | None, float]]:
    """Intent cases are classified in one batch when the target can (one embedding call)."""
    texts = [c.turns[-1] for c in suite.cases if c.kind == "intent"]
    many = getattr(target, "classify_many", None)
    if not texts or not callable(many):
        return {}
    try:
        return dict(zip(texts, many(texts), strict=True))
    except Exception:  # noqa: BLE001 - fall back to one call per case, where errors are reported per case
        log.debug("batch classification failed", exc_info=True)
        return {}


def expand(suite: Suite, config: RunConfig) -> tuple[Suite, datasets.Built]:
    """Generate a dataset suite's cases (seeded sample) or apply --limit to a written suite."""
    limit = config.limit if config.limit is not None else suite.default_limit
    if suite.source is not None:
        built = datasets.build(suite.source, limit, config.seed, config.data_dir)
        return suite.model_copy(update={"cases": built.cases}), built
    total = len(suite.cases)
    cases = suite.cases if limit is None else suite.cases[:limit]
    return suite.model_copy(update={"cases": cases}), datasets.Built(cases, total=total)


def evaluate_thresholds(suite: Suite, metrics: dict[str, float]) -> list[ThresholdResult]:
    out: list[ThresholdResult] = []
    for name, rule in suite.thresholds.items():
        actual = metrics.get(name)
        out.append(
            ThresholdResult(metric=name, rule=str(rule), actual=actual, ok=actual is not None and rule.ok(actual))
        )
    return out


def run_suite(
    suite: Suite,
    target: Target,
    config: RunConfig | None = None,
    judge: Judge | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
) -> RunReport:
    config = config or RunConfig()
    _seed(config.seed)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    suite, built = expand(suite, config)
    kb_version = ""
    if suite.kb != "none" or built.documents:
        kb_version = target.prepare_tenant(suite.tenant, built.documents, demo=suite.kb == "demo")
    if built.train is not None:
        target.train_intents(*built.train)
    classified = _classify_in_batch(suite, target)
    results: dict[str, CaseResult] = {}
    bar = tqdm(total=len(suite.cases), desc=suite.name, unit="case", disable=not config.progress, leave=False)
    with ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool:
        futures = {pool.submit(_safe_run, case, suite, target, judge, classified): case for case in suite.cases}
        for future in as_completed(futures):
            result = future.result()
            results[result.id] = result
            bar.update(1)
            bar.set_postfix(
                fail=sum(r.status == "fail" for r in results.values()),
                error=sum(r.status == "error" for r in results.values()),
            )
            if on_case is not None:
                on_case(result)
    bar.close()
    cases = [results[c.id] for c in suite.cases]
    metrics, support = aggregate(cases)
    return RunReport(
        suite=suite.name,
        suite_path=suite.path,
        description=suite.description,
        target=target.name,
        started_at=started,
        seconds=round(time.perf_counter() - t0, 2),
        seed=config.seed,
        workers=config.workers,
        limit=config.limit if config.limit is not None else suite.default_limit,
        cases_total=built.total,
        command=config.command,
        pipeline=describe_pipeline(target, kb_version, judge),
        metrics=metrics,
        support=support,
        thresholds=evaluate_thresholds(suite, metrics),
        counts={s: sum(c.status == s for c in cases) for s in ("pass", "fail", "error")},
        cases=cases,
    )


__all__ = ["CaseError", "RunConfig", "run_case", "run_suite"]
