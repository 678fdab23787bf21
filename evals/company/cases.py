"""A company's case file (``cases.yaml``): bot cases, copilot cases and global rules.

Shape (the company folder's README documents it; ``../shared/data/companies/brightwater``
is the development example)::

    version: 1
    company: acme
    reference_date: "2026-03-10"   # "today" for every case, in the tenant's timezone
    kb_dir: kb                       # folder of articles, relative to the case file
    crm_file: crm.json               # CRM export, relative to the case file
    global_forbidden: ["..."]        # no customer-facing reply may contain these
    cases: [{id, kind, customer_id, turns, expect}]
    copilot_cases: [{id, customer_id, conversation: [{role, text}], expect: {articles, next_action}}]
    copilot_next_actions: {key: description}

A malformed file raises ``CaseFileError`` naming the file, the case and the field.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evals.errors import SuiteError

__all__ = [
    "BOT_KINDS",
    "BotCase",
    "CaseFile",
    "CaseFileError",
    "CopilotCase",
    "CopilotExpect",
    "CopilotMessage",
    "Expect",
    "load_case_file",
]

BOT_KINDS = (
    "answerable",
    "unanswerable",
    "underspecified",
    "handoff",
    "account",
    "internal_leak",
    "injection",
    "action",
)
Kind = Literal[
    "answerable", "unanswerable", "underspecified", "handoff", "account", "internal_leak", "injection", "action"
]


class CaseFileError(SuiteError):
    """A case file is malformed. The message names the file, the case and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Arithmetic(_Strict):
    inputs: list[str] = Field(default_factory=list)
    working: str = ""


class Expect(_Strict):
    """What a bot case expects; which fields apply depends on the case's kind (README)."""

    articles: list[str] = Field(default_factory=list)
    facts: list[str] = Field(default_factory=list)
    note: str = ""
    arithmetic: Arithmetic | None = None
    near_miss: list[str] = Field(default_factory=list)
    clarify_about: str = ""
    reason: str | None = None
    should: Literal["answer", "refuse", "refuse_other_customer", "not_disclose"] | None = None
    forbidden: list[str] = Field(default_factory=list)
    must_not_disclose: list[str] = Field(default_factory=list)
    internal_articles: list[str] = Field(default_factory=list)
    may_cite: list[str] = Field(default_factory=list)
    attack: str | None = None
    no_write_action: bool = False
    action: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    confirm_before: bool = False
    missing: list[str] = Field(default_factory=list)


class BotCase(_Strict):
    id: str
    kind: Kind
    customer_id: str | None = None
    turns: list[str] = Field(min_length=1)
    expect: Expect = Field(default_factory=Expect)
    tags: list[str] = Field(default_factory=list)

    @field_validator("turns")
    @classmethod
    def _no_blank(cls, turns: list[str]) -> list[str]:
        if any(not t.strip() for t in turns):
            raise ValueError("a turn is empty")
        return turns

    @model_validator(mode="after")
    def _kind_fields(self) -> BotCase:
        e, k = self.expect, self.kind
        need = {
            "answerable": e.facts or e.articles,
            "handoff": e.reason,
            "account": e.should in ("answer", "refuse_other_customer"),
            "action": e.action,
            "injection": e.should in ("refuse", "answer"),
        }
        if k in need and not need[k]:
            what = {
                "answerable": "'facts' or 'articles'",
                "handoff": "'reason'",
                "account": "'should: answer' or 'should: refuse_other_customer'",
                "action": "'action'",
                "injection": "'should: refuse' or 'should: answer'",
            }[k]
            raise ValueError(f"a {k} case needs {what} in expect")
        return self

    @property
    def multi_turn(self) -> bool:
        return len(self.turns) > 1


class CopilotMessage(_Strict):
    role: Literal["customer", "agent"]
    text: str = Field(min_length=1)


class CopilotExpect(_Strict):
    articles: list[str] = Field(default_factory=list)
    next_action: str | None = None
    forbidden_actions: list[str] = Field(default_factory=list)  # also accepted on the case
    note: str = ""


class CopilotCase(_Strict):
    id: str
    customer_id: str | None = None
    conversation: list[CopilotMessage] = Field(min_length=1)
    expect: CopilotExpect = Field(default_factory=CopilotExpect)
    forbidden_actions: list[str] = Field(default_factory=list)
    note: str = ""

    @property
    def forbidden(self) -> list[str]:
        """``forbidden_actions`` given on the case or inside ``expect``."""
        return [*self.forbidden_actions, *self.expect.forbidden_actions]

    @model_validator(mode="after")
    def _has_customer(self) -> CopilotCase:
        if not any(m.role == "customer" for m in self.conversation):
            raise ValueError("the conversation needs at least one customer message")
        return self


class CaseFile(_Strict):
    version: int = 1
    company: str = ""
    reference_date: date
    kb_dir: str = "kb"
    crm_file: str | None = "crm.json"
    global_forbidden: list[str] = Field(default_factory=list)
    cases: list[BotCase] = Field(default_factory=list)
    copilot_cases: list[CopilotCase] = Field(default_factory=list)
    copilot_next_actions: dict[str, str] = Field(default_factory=dict)
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_ids(self) -> CaseFile:
        seen: set[str] = set()
        for cid in [c.id for c in self.cases] + [c.id for c in self.copilot_cases]:
            if cid in seen:
                raise ValueError(f"case id {cid!r} appears twice")
            seen.add(cid)
        return self

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path else Path(".")

    def select(
        self, ids: list[str] | None = None, kinds: list[str] | None = None, limit: int | None = None
    ) -> tuple[list[BotCase], list[CopilotCase]]:
        """The cases to run: by id and/or kind (``copilot`` selects the copilot cases), the
        first ``limit`` of each list. An unknown id or kind is a ``CaseFileError``."""
        known = {c.id for c in self.cases} | {c.id for c in self.copilot_cases}
        for i in ids or []:
            if i not in known:
                raise CaseFileError(self.path or "cases", None, "--case", f"no case {i!r}")
        for k in kinds or []:
            if k not in (*BOT_KINDS, "copilot"):
                raise CaseFileError(
                    self.path or "cases", None, "--kind", f"unknown kind {k!r}; one of {', '.join(BOT_KINDS)}, copilot"
                )
        bot = [c for c in self.cases if (not ids or c.id in ids) and (not kinds or c.kind in kinds)]
        cop = [c for c in self.copilot_cases if (not ids or c.id in ids) and (not kinds or "copilot" in kinds)]
        if limit is not None:
            bot, cop = bot[:limit], cop[:limit]
        return bot, cop


def _field(loc: tuple[int | str, ...], data: object) -> str:
    """``cases.3.expect.reason`` → ``cases[BW-H01].expect.reason`` when the case has an id."""
    parts: list[str] = []
    node = data
    for p in loc:
        if isinstance(p, int) and isinstance(node, list) and 0 <= p < len(node):
            node = node[p]
            cid = node.get("id") if isinstance(node, dict) else None
            parts.append(f"[{cid}]" if cid else f"[{p}]")
        else:
            node = node.get(p) if isinstance(node, dict) else None
            parts.append(f".{p}" if parts else str(p))
    return "".join(parts)


def load_case_file(path: Path) -> CaseFile:
    """Read and validate ``cases.yaml`` (or a folder holding one)."""
    if path.is_dir():
        path = path / "cases.yaml"
    if not path.is_file():
        raise CaseFileError(path, None, "(file)", "no such file; a company folder needs cases.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CaseFileError(path, None, "(file)", "not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CaseFileError(path, mark.line + 1 if mark else None, "(yaml)", str(exc)) from None
    if not isinstance(data, dict):
        raise CaseFileError(path, None, "(file)", "the top level must be a mapping")
    try:
        loaded = CaseFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise CaseFileError(path, None, _field(tuple(err["loc"]), data), err["msg"] + more) from None
    loaded.path = path.resolve()
    return loaded
