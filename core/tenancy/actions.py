"""Self-service actions a company declares in its configuration (``actions:``).

An action has parameters (slots the bot fills over turns), a kind (``read`` runs at once,
``write`` only after an explicit yes to a confirmation showing every parameter), and an
executor: ``http`` (the company's API), ``mcp`` (a tool on an MCP server) or ``builtin``
(the Store's own records, e.g. the demo shop's orders). Shape (YAML)::

    - name: check_outage
      description: Known outages at a postcode.
      examples: ["is there a power cut at my postcode?"]
      kind: read
      signed_in_only: false
      parameters:
        - {name: postcode, type: pattern, pattern: '[A-Z]{1,2}\\d[A-Z\\d]? ?\\d[A-Z]{2}', ask: "What is your postcode?"}
      reply: "Known outages at {postcode}: {result.summary}"
      executor: {type: http, method: GET, url: "https://api.example/outages?postcode={postcode}"}
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ActionParameter", "ActionSpec", "BuiltinExecutor", "Executor", "HttpExecutor", "McpExecutor"]

_KEY = r"^[a-z][a-z0-9_]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ActionParameter(_Strict):
    """One slot. ``type`` decides how a value is read from the customer's words and validated:
    ``string``, ``integer``, ``number``, ``date`` (ISO; "today", "yesterday" in the tenant's
    timezone), ``enum`` (one of ``choices``), ``pattern`` (a regular expression such as an
    identifier or postcode format)."""

    name: Annotated[str, Field(pattern=_KEY)]
    type: Literal["string", "integer", "number", "date", "enum", "pattern"] = "string"
    required: bool = True
    ask: str = ""  # the question when it is missing, e.g. "Which meter is it?"
    description: str = ""
    choices: list[str] = Field(default_factory=list)
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: str | int | float | None = None  # "today" is allowed for dates
    source: Literal["customer", "session", "record"] = "customer"  # record: from the customer's CRM record
    record_path: str | None = None  # e.g. "meters[].serial": candidates from the customer's record

    @model_validator(mode="after")
    def _consistent(self) -> ActionParameter:
        if self.type == "enum" and not self.choices:
            raise ValueError(f"parameter {self.name!r}: type enum needs 'choices'")
        if self.type == "pattern":
            if not self.pattern:
                raise ValueError(f"parameter {self.name!r}: type pattern needs 'pattern'")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"parameter {self.name!r}: pattern is not a regular expression: {exc}") from None
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"parameter {self.name!r}: minimum is above maximum")
        return self


class HttpExecutor(_Strict):
    """Calls the company's API (``bot.actions.executors.http``).

    - ``url`` may use ``{param}`` and ``{customer_id}`` (URL-quoted);
    - ``headers`` values may use ``${ENV_NAME}``: secrets come from the environment, never the file;
    - ``body`` is a JSON template: a string that is exactly ``"{name}"`` becomes the typed value
      (``{params}`` = every parameter, ``{customer_id}``, ``{idempotency_key}``), other strings
      are formatted; without a body, POST/PUT/PATCH send the parameters plus ``customer_id`` and
      GET/DELETE send the parameters the URL does not use as query parameters;
    - every write sends an ``Idempotency-Key`` header (the same key when a yes is delivered twice);
    - ``result_path`` (dotted, e.g. ``data.balance``) picks the part of the JSON response that
      the reply template sees as ``{result...}``.
    """

    type: Literal["http"] = "http"
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: Annotated[str, Field(pattern=r"^https?://")]
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] | None = None
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    result_path: str | None = None  # dotted path into the JSON response for the reply template


class McpExecutor(_Strict):
    """A tool on an MCP server: a streamable HTTP ``url`` or a stdio ``command``."""

    type: Literal["mcp"] = "mcp"
    tool: Annotated[str, Field(min_length=1)]
    url: str | None = None
    command: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)  # values may be ${ENV_NAME}
    arguments: dict[str, Any] | None = None  # a template like HttpExecutor.body; default: the parameters
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 10.0
    result_path: str | None = None

    @model_validator(mode="after")
    def _one_transport(self) -> McpExecutor:
        if bool(self.url) == bool(self.command):
            raise ValueError("an mcp executor needs exactly one of 'url' (streamable HTTP) or 'command' (stdio)")
        return self


class BuiltinExecutor(_Strict):
    """An action over the Store's own records; ``options`` are its rules (e.g. a return
    window in days, an id pattern), never constants in code."""

    type: Literal["builtin"] = "builtin"
    name: Annotated[str, Field(min_length=1)]
    options: dict[str, Any] = Field(default_factory=dict)


Executor = Annotated[HttpExecutor | McpExecutor | BuiltinExecutor, Field(discriminator="type")]


class ActionSpec(_Strict):
    name: Annotated[str, Field(pattern=_KEY)]
    description: Annotated[str, Field(min_length=1)]
    examples: list[str] = Field(default_factory=list)  # trained like intents
    kind: Literal["read", "write"] = "read"
    signed_in_only: bool = True
    confirm: bool | None = None  # default: writes confirm, reads don't
    confirmation: str = ""  # e.g. "Submit reading {reading} for meter {meter_serial} on {date}?"
    reply: str = ""  # e.g. "Your balance is {result.amount}."
    eligibility: str = ""  # human-readable rule (documented; enforced by the executor)
    parameters: list[ActionParameter] = Field(default_factory=list)
    executor: Executor | None = None

    @property
    def needs_confirmation(self) -> bool:
        return self.kind == "write" if self.confirm is None else self.confirm

    @model_validator(mode="after")
    def _unique(self) -> ActionSpec:
        names = [p.name for p in self.parameters]
        if len(names) != len(set(names)):
            raise ValueError(f"action {self.name!r}: parameter names must be unique")
        return self
