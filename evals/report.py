"""What a run produces: typed, saved as JSON (and rendered to HTML by ``evals.html``)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from evals.suite import Expect
from evals.target import TurnObs

Status = Literal["pass", "fail", "error"]


class PassageRef(BaseModel):
    article_id: str
    title: str = ""
    text: str = ""
    score: float = 0.0


class CaseResult(BaseModel):
    id: str
    kind: str
    tags: list[str] = Field(default_factory=list)
    status: Status = "pass"
    failures: list[str] = Field(default_factory=list)
    error: str | None = None
    turns: list[TurnObs] = Field(default_factory=list)
    retrieved: list[PassageRef] = Field(default_factory=list)
    suggested: list[str] = Field(default_factory=list)
    predicted_intent: str | None = None
    summary: str | None = None
    disposition: str | None = None  # summary cases: the predicted disposition
    outcome: str | None = None  # persona: resolved | handed_off_rightly | handed_off_wrongly | looped
    scores: dict[str, float] = Field(default_factory=dict)
    expect: Expect = Field(default_factory=Expect)
    seconds: float = 0.0

    @property
    def handed_off(self) -> bool:
        return any(t.handoff is not None for t in self.turns)

    @property
    def handoff_reason(self) -> str | None:
        return next((t.handoff.reason for t in self.turns if t.handoff is not None), None)

    @property
    def handoff_queue(self) -> str | None:
        return next((t.handoff.queue for t in self.turns if t.handoff is not None), None)


class ThresholdResult(BaseModel):
    metric: str
    rule: str
    actual: float | None
    ok: bool


class RunReport(BaseModel):
    suite: str
    suite_path: str = ""
    description: str = ""
    target: str
    started_at: datetime
    seconds: float
    seed: int
    workers: int
    limit: int | None = None
    cases_total: int = 0  # before --limit
    command: str = ""
    pipeline: dict[str, object] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    support: dict[str, int] = Field(default_factory=dict)  # how many cases each metric is over
    thresholds: list[ThresholdResult] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)  # pass / fail / error
    cases: list[CaseResult] = Field(default_factory=list)

    @property
    def gate_ok(self) -> bool:
        return all(t.ok for t in self.thresholds)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> RunReport:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
