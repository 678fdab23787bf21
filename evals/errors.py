"""Errors of the eval harness.

SuiteError (core.errors.InvalidInput)   a suite file is malformed: names file, line and field
CaseError  (core.errors.SwitchboardError) one case could not run (reported as an error, the run goes on)
"""

from __future__ import annotations

from pathlib import Path

from core.errors import InvalidInput, SwitchboardError


class SuiteError(InvalidInput):
    """A suite file is malformed. The message names the file, the line and the field."""

    def __init__(self, path: Path | str, line: int | None, field: str, problem: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: field '{field}': {problem}")
        self.path = str(path)
        self.line = line
        self.field = field
        self.problem = problem


class CaseError(SwitchboardError):
    """A case could not be run (missing dataset, unsupported by the target, ...)."""
