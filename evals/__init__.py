"""Eval suites, runners, metrics, reports and run comparison (see docs/evals.md)."""

from evals.compare import compare
from evals.report import CaseResult, RunReport
from evals.runner import RunConfig, run_suite
from evals.suite import Case, Expect, Suite, load_suite

__all__ = ["Case", "CaseResult", "Expect", "RunConfig", "RunReport", "Suite", "compare", "load_suite", "run_suite"]
