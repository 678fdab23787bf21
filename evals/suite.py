"""Eval suites: YAML (one document with ``cases``) or JSONL (one case per line, suite
settings in an optional first line ``{"suite": {...}}``).

A malformed file raises ``SuiteError`` naming the file, the line and the field.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.types import HandoffReason
from evals.errors import SuiteError

SUITES_DIR = Path(__file__).parent / "suites"
CaseKind = Literal["conversation", "persona", "intent", "summary", "injection"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Expect(_Strict):
    """What a case expects. Every field is optional: only what is set is checked."""

    articles: list[str] = Field(default_factory=list)  # should be retrieved (recall@k, MRR, nDCG)
    answer: str | None = None  # reference answer (string metrics, judge)
    handoff: bool | None = None
    reason: HandoffReason | None = None  # why it should hand off
    queue: str | None = None
    intent: str | None = None  # None with intent set to "oos" means out of scope
    action: str | None = None
    abstain: bool | None = None  # the bot should say it does not know
    contains: list[str] = Field(default_factory=list)  # every one must appear (case-insensitive)
    must_not_contain: list[str] = Field(default_factory=list)
    language: str | None = None
    suggest_articles: list[str] = Field(default_factory=list)  # copilot should suggest one of these
    contexts: list[str] = Field(default_factory=list)  # reference passages (context precision / recall)


class Message(_Strict):
    role: Literal["customer", "bot", "agent", "system"]
    text: str


class Persona(_Strict):
    """A scripted simulated customer that plays against the bot."""

    style: Literal["impatient", "vague", "wants_human", "injection", "polite"]
    opening: str
    follow_ups: list[str] = Field(default_factory=list)  # said in order while not resolved
    resolved_when: list[str] = Field(default_factory=list)  # cited article ids that resolve the goal
    resolved_text: list[str] = Field(default_factory=list)  # or phrases in the reply
    max_turns: int = 4


class Attack(_Strict):
    """A prompt injection planted in a customer message, a KB article or a CRM note."""

    where: Literal["message", "kb", "crm_note"]
    text: str
    canary: str  # the attack succeeds when this string reaches the customer
    question: str  # what the customer asks (retrieves the planted article)
    source: str = ""
    article_title: str = "Returns and refunds"


class Case(_Strict):
    id: str
    kind: CaseKind | None = None  # inferred when unset
    tenant: str | None = None
    customer_id: str | None = None
    turns: list[str] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)  # summary cases: a finished conversation
    reference_summary: str | None = None
    disposition: str | None = None
    at: datetime | None = None  # the clock during the case (business hours)
    expect: Expect = Field(default_factory=Expect)
    persona: Persona | None = None
    attack: Attack | None = None
    tags: list[str] = Field(default_factory=list)
    line: int = 0  # where the case starts in its file (set by the loader)

    @model_validator(mode="before")
    @classmethod
    def _single_turn(cls, data: Any) -> Any:
        if isinstance(data, dict) and "turn" in data:
            data = dict(data)
            turn = data.pop("turn")
            data["turns"] = [*data.get("turns", []), turn]
        return data

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v

    @model_validator(mode="after")
    def _infer_kind(self) -> Case:
        if self.kind is None:
            if self.persona is not None:
                self.kind = "persona"
            elif self.attack is not None:
                self.kind = "injection"
            elif self.messages:
                self.kind = "summary"
            else:
                self.kind = "conversation"
        if self.kind in ("conversation", "intent") and not self.turns:
            raise ValueError("a conversation case needs 'turns' (or 'turn')")
        return self


_THRESHOLD = re.compile(r"^\s*(>=|<=|>|<)\s*(-?[0-9.]+)\s*$")


class Threshold(_Strict):
    op: Literal[">=", "<=", ">", "<"]
    value: float

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        if isinstance(data, int | float):
            return {"op": ">=", "value": data}
        if isinstance(data, str):
            m = _THRESHOLD.match(data)
            if not m:
                raise ValueError(f"expected e.g. '>= 0.8' or '<= 2.5', got {data!r}")
            return {"op": m.group(1), "value": float(m.group(2))}
        return data

    def ok(self, actual: float) -> bool:
        return {
            ">=": actual >= self.value,
            "<=": actual <= self.value,
            ">": actual > self.value,
            "<": actual < self.value,
        }[self.op]

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


class Source(_Strict):
    """Cases generated from a public dataset under ../shared/data."""

    dataset: Literal["mtrag", "dstc10", "banking77", "clinc150", "injection"]
    collection: str | None = None  # mtrag: clapnq | govt | fiqa
    split: str | None = None


class Suite(_Strict):
    name: str
    description: str = ""
    kb: Literal["demo", "none", "dataset"] = "demo"
    tenant: str = "larkspur"
    source: Source | None = None
    default_limit: int | None = None  # a full run of a large suite takes too long on the embedded default
    k: int = 4  # retrieval cut-off
    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    cases: list[Case] = Field(default_factory=list)
    path: str = ""

    @model_validator(mode="after")
    def _unique_ids(self) -> Suite:
        seen: set[str] = set()
        for i, case in enumerate(self.cases):
            if case.id in seen:
                raise ValueError(f"cases.{i}.id: duplicate case id {case.id!r}")
            seen.add(case.id)
        return self


# -- loading ----------------------------------------------------------------------------------


Loc = tuple[str | int, ...]


def _line_map(node: yaml.Node, path: Loc = (), out: dict[Loc, int] | None = None) -> dict[Loc, int]:
    """Map every path in a YAML document (('cases', 3, 'expect', 'handoff')) to its 1-based line."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            out[(*path, name)] = key.start_mark.line + 1
            _line_map(value, (*path, name), out)
            out[(*path, name)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*path, i), out)
    return out


def _field(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(document)"


def _closest_line(lines: dict[tuple[str | int, ...], int], loc: tuple[str | int, ...]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _raise_validation(path: Path, exc: ValidationError, lines: dict[tuple[str | int, ...], int]) -> None:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if p not in ("function-after[_infer_kind(), Case]",))
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if m := re.match(r"^(cases\.\d+\.\w+): (.*)$", msg):  # suite-level validators name the field themselves
        loc = tuple(int(p) if p.isdigit() else p for p in m.group(1).split("."))
        msg = m.group(2)
    raise SuiteError(path, _closest_line(lines, loc), _field(loc), msg) from None


def load_yaml_suite(path: Path) -> Suite:
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise SuiteError(path, line, "(syntax)", str(exc.problem or exc)) from None
    if not isinstance(data, dict) or node is None:
        raise SuiteError(path, 1, "(document)", "a suite is a mapping with 'name' and 'cases'")
    lines = _line_map(node)
    for i, case in enumerate(data.get("cases") or []):
        if isinstance(case, dict):
            case["line"] = lines.get(("cases", i), 0)
    try:
        suite = Suite.model_validate({**data, "path": str(path)})
    except ValidationError as exc:
        _raise_validation(path, exc, lines)
        raise  # unreachable
    return suite


def load_jsonl_suite(path: Path) -> Suite:
    header: dict[str, Any] = {"name": path.stem}
    cases: list[Case] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SuiteError(path, number, "(syntax)", f"not valid JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(row, dict):
            raise SuiteError(path, number, "(line)", "each line is a JSON object (a case)")
        if "suite" in row and not cases:
            header.update(row["suite"])
            continue
        try:
            cases.append(Case.model_validate({**row, "line": number}))
        except ValidationError as exc:
            err = exc.errors()[0]
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise SuiteError(path, number, _field(tuple(err["loc"])), msg) from None
    try:
        return Suite.model_validate({**header, "cases": [c.model_dump() for c in cases], "path": str(path)})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = cases[int(loc[1])].line if len(loc) > 1 and loc[0] == "cases" else 1
        raise SuiteError(path, line, _field(loc), str(err["msg"]).removeprefix("Value error, ")) from None


def load_suite(name_or_path: str | Path) -> Suite:
    """A bundled suite by name (``smoke``) or any file path (.yaml, .yml, .jsonl)."""
    path = Path(name_or_path)
    if not path.exists():
        for ext in (".yaml", ".yml", ".jsonl"):
            candidate = SUITES_DIR / f"{name_or_path}{ext}"
            if candidate.exists():
                path = candidate
                break
        else:
            names = ", ".join(bundled_suites())
            raise SuiteError(path, None, "(file)", f"no such suite file; bundled suites: {names}")
    if path.suffix == ".jsonl":
        return load_jsonl_suite(path)
    return load_yaml_suite(path)


def bundled_suites() -> list[str]:
    return sorted({p.stem for p in SUITES_DIR.glob("*") if p.suffix in (".yaml", ".yml", ".jsonl")})
