"""``switchboard evals company DIR``: any company scores the bot and copilot on its own case
file. This package is the pure part — the case file, normalisation, per-kind verdicts, the
metrics and the report; the driver that plays the cases over the product lives in
``server/cli/company.py`` (``evals`` may not import ``server``). See docs/evals.md."""

from evals.company.cases import BOT_KINDS, BotCase, CaseFile, CaseFileError, CopilotCase, load_case_file
from evals.company.metrics import HEADLINE, compute_metrics
from evals.company.normalize import canonical, contains, find_all, normalise, numbers_in
from evals.company.report import CompanyReport, metrics_table, render_html
from evals.company.sources import CompanySources
from evals.company.transcript import (
    ActionSeen,
    BotTranscript,
    BotTurn,
    Cited,
    CopilotSeen,
    CopilotTranscript,
    HandoffSeen,
    ReplySeen,
    SuggestedArticle,
)
from evals.company.verdicts import CaseVerdict, CopilotVerdict, args_equal, score_bot, score_copilot

__all__ = [
    "BOT_KINDS",
    "HEADLINE",
    "ActionSeen",
    "BotCase",
    "BotTranscript",
    "BotTurn",
    "CaseFile",
    "CaseFileError",
    "CaseVerdict",
    "Cited",
    "CompanyReport",
    "CompanySources",
    "CopilotCase",
    "CopilotSeen",
    "CopilotTranscript",
    "CopilotVerdict",
    "HandoffSeen",
    "ReplySeen",
    "SuggestedArticle",
    "args_equal",
    "canonical",
    "compute_metrics",
    "contains",
    "find_all",
    "load_case_file",
    "metrics_table",
    "normalise",
    "numbers_in",
    "render_html",
    "score_bot",
    "score_copilot",
]
