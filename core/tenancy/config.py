"""A company's configuration: one YAML file with a typed schema (pydantic).

Everything per company lives here — names, hours, languages, currency, scope text, queues,
sensitive topics, intents file, copilot next actions, self-service actions and where the
widget secret comes from — and is looked up by the tenant of each request. Product code
carries no company's words. ``switchboard tenant init NAME`` writes a commented template;
``tenant apply FILE`` validates and stores it (``Tenant.config`` holds ``model_dump(mode="json")``).

Shape (YAML)::

    id: acme                      # slug: a-z, 0-9, '-', '_' (1..64)
    name: Acme Energy             # the company's name (prompts, greetings, refusals)
    display_name: Acme Assistant  # what the widget calls the bot
    timezone: Europe/London       # IANA name
    languages: [en]
    currency: GBP                 # ISO 4217
    business_hours: {monday: "08:00-20:00", sunday: closed}   # a day left out is closed
    closed_dates: [2026-12-25]
    scope: "bills, meters, payments and moving home"
    queues: {billing: {topics: [...], intents: [...]}}
    sensitive_topics: [{key: fraud, examples: [...], queue: security, priority: high}]
    nlu_file: nlu.yml             # Rasa NLU file, relative to this YAML file
    copilot: {next_actions: [{key, description, when: [...]}]}
    actions: [...]                # see core.tenancy.actions
    widget_secret_env: ACME_WIDGET_SECRET
"""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.tenancy.actions import ActionSpec

__all__ = [
    "AnalyticsSettings",
    "CopilotSettings",
    "DAYS",
    "HandoffSettings",
    "NextAction",
    "QueueSpec",
    "SensitiveTopic",
    "TenantConfig",
    "parse_window",
]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    **{d: d for d in DAYS},
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
    "tues": "tue",
    "weds": "wed",
    "thur": "thu",
    "thurs": "thu",
}
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")
_SLUG = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_KEY = r"^[a-z][a-z0-9_]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def parse_window(value: object) -> tuple[time, time] | None:
    """``"08:00-20:00"`` (or ``["08:00", "20:00"]``) → (open, close); ``"closed"`` → None.

    Raises ValueError with the allowed forms."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "closed"):
        return None
    if isinstance(value, list | tuple) and len(value) == 2:
        value = f"{value[0]}-{value[1]}"
    if isinstance(value, str) and (m := _WINDOW.match(value)):
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        if h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60:
            opens = time(h1, m1)
            closes = time(23, 59, 59) if h2 == 24 else time(h2, m2)
            if opens < closes:
                return opens, closes
    raise ValueError(f"must be 'HH:MM-HH:MM' (opening before closing) or 'closed', got {value!r}")


class QueueSpec(_Strict):
    """A handoff queue and what routes there: topic names (the bot's topics or intents)."""

    description: str = ""
    topics: list[str] = Field(default_factory=list)
    intents: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    notes: str = ""


class SensitiveTopic(_Strict):
    """A topic the company wants handled with care. ``examples`` are phrases a customer would
    write (matched by meaning, not words); ``policy`` says what the bot does:

    - ``handoff``: hand off to ``queue`` with ``priority``;
    - ``emergency``: answer at once (the article first), never troubleshoot; no handoff first;
    - ``answer_then_offer_handoff``: answer from the KB and offer a person.
    """

    key: Annotated[str, Field(pattern=_KEY)]
    examples: Annotated[list[str], Field(min_length=1)]
    policy: Literal["handoff", "emergency", "answer_then_offer_handoff"] = "handoff"
    queue: str | None = None
    priority: Literal["normal", "high", "urgent"] = "high"
    reason: str | None = None  # recorded handoff reason; default "sensitive_<key>"
    respond: str = ""  # guidance for agents and the bot's wording
    article: str | None = None  # the KB article that answers it (emergency / answer policies)
    skill: str | None = None

    @property
    def handoff_reason(self) -> str:
        return self.reason or f"sensitive_{self.key}"


class NextAction(_Strict):
    """One entry of the copilot's next-best-action catalog."""

    key: Annotated[str, Field(pattern=_KEY)]
    description: Annotated[str, Field(min_length=1)]
    when: list[str] = Field(default_factory=list)


class CopilotSettings(_Strict):
    suggest_articles: Annotated[int, Field(ge=1, le=10)] = 5
    next_actions: list[NextAction] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_keys(self) -> CopilotSettings:
        _no_duplicates([a.key for a in self.next_actions], "copilot.next_actions[].key")
        return self


class HandoffSettings(_Strict):
    """Which triggers hand off, and their thresholds (defaults: every trigger on)."""

    explicit_request: bool = True
    sensitive_topics: bool = True
    frustration: bool = True
    repetition: bool = True
    no_answer: bool = True
    after_hours: bool = True
    cancellation: bool = True
    max_failed_attempts: Annotated[int, Field(ge=1, le=10)] = 2
    default_queue: str = "general"
    after_hours_action: Literal["ticket_and_callback", "queue_only"] = "ticket_and_callback"


class AnalyticsSettings(_Strict):
    reopen_window_hours: Annotated[int, Field(ge=1, le=24 * 90)] = 72
    fcr_days: Annotated[int, Field(ge=1, le=90)] = 7


class TenantConfig(_Strict):
    """One company's configuration. Unknown fields are errors (a typo never passes silently)."""

    id: Annotated[str, Field(pattern=_SLUG)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    display_name: str = ""  # the bot's name in the widget; default "<name> assistant"
    legal_name: str = ""
    website: str = ""
    help_center_url: str = ""
    timezone: str = "UTC"
    languages: Annotated[list[str], Field(min_length=1)] = Field(default_factory=lambda: ["en"])
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    business_hours: dict[str, str] = Field(default_factory=dict)  # empty: always open
    closed_dates: list[date] = Field(default_factory=list)
    phone_numbers: dict[str, str] = Field(default_factory=dict)
    scope: str = ""  # what the bot helps with, e.g. "bills, meters and payments"
    greeting: str = ""  # first bot line in the widget
    persona: str = ""
    queues: dict[str, QueueSpec] = Field(default_factory=dict)
    sensitive_topics: list[SensitiveTopic] = Field(default_factory=list)
    handoff: HandoffSettings = Field(default_factory=HandoffSettings)
    nlu_file: str | None = None  # Rasa nlu.yml, relative to the configuration file
    copilot: CopilotSettings = Field(default_factory=CopilotSettings)
    actions: list[ActionSpec] = Field(default_factory=list)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    allowed_link_hosts: list[str] = Field(default_factory=list)  # hosts the bot may link to
    # CRM record fields the bot never shows a customer, even their own (matched by key at any
    # depth, case-insensitive), beside the built-in secrets (birth dates, bank details, notes, codes).
    private_fields: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list)
    # The bot abstains below this P(answerable) (bot/answerability.py); None: the fitted default.
    answer_threshold: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    widget_secret_env: str | None = None  # environment variable holding the widget secret
    widget_secret_file: str | None = None  # or a file holding it (never the secret itself)
    widget_secret_previous_env: str | None = None  # the old secret, accepted during rotation
    widget_secret_overlap_hours: Annotated[int, Field(ge=0, le=24 * 30)] = 24
    guidelines_dir: str | None = None  # ABCD-style guidelines folder (importer; optional)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}; use an IANA name such as 'Europe/London'") from exc
        return value

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: list[str]) -> list[str]:
        out = [v.strip().lower() for v in value]
        for code in out:
            if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", code):
                raise ValueError(f"{code!r} is not a language code; use ISO 639-1 such as 'en' or 'de'")
        return out

    @field_validator("business_hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("must map days to 'HH:MM-HH:MM' or 'closed', e.g. {monday: '08:00-20:00'}")
        out: dict[str, str] = {}
        for raw_day, span in value.items():
            day = _DAY_NAMES.get(str(raw_day).strip().lower())
            if day is None:
                allowed = ", ".join(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
                raise ValueError(f"unknown day {raw_day!r}; use one of {allowed} (or mon..sun)")
            if day in out:
                raise ValueError(f"day {raw_day!r} is given twice")
            try:
                window = parse_window(span)
            except ValueError as exc:
                raise ValueError(f"{raw_day}: {exc}") from None
            out[day] = "closed" if window is None else f"{window[0]:%H:%M}-{_close(window[1])}"
        return out

    @field_validator("nlu_file", "widget_secret_env", "widget_secret_previous_env", "widget_secret_file")
    @classmethod
    def _no_blank(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("widget_secret_env", "widget_secret_previous_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"{value!r} is not an environment variable name (the secret itself never goes here)")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> TenantConfig:
        _no_duplicates([t.key for t in self.sensitive_topics], "sensitive_topics[].key")
        _no_duplicates([a.name for a in self.actions], "actions[].name")
        queues = set(self.queues)
        if queues:
            for topic in self.sensitive_topics:
                if topic.queue is not None and topic.queue not in queues:
                    raise ValueError(
                        f"sensitive_topics[{topic.key}].queue {topic.queue!r} is not a queue; "
                        f"defined queues: {', '.join(sorted(queues))}"
                    )
        return self

    # -- what the product reads ---------------------------------------------------------

    @property
    def bot_name(self) -> str:
        return self.display_name or f"{self.name} assistant"

    def queue_for_topic(self, topic: str | None) -> str | None:
        """The queue whose ``topics`` or ``intents`` list ``topic``; None when none does."""
        if not topic:
            return None
        for name, spec in self.queues.items():
            if topic in spec.topics or topic in spec.intents:
                return name
        return None

    def resolve_path(self, value: str | None, base: Path | None) -> Path | None:
        """A path from the file, resolved against the configuration file's folder."""
        if value is None:
            return None
        path = Path(value)
        return path if path.is_absolute() or base is None else (base / path)

    def stored(self, source: Path | None = None) -> dict[str, Any]:
        """What ``Tenant.config`` keeps: the JSON form plus the resolved NLU path."""
        data = self.model_dump(mode="json")
        base = source.parent if source is not None else None
        nlu = self.resolve_path(self.nlu_file, base)
        data["nlu_file"] = str(nlu.resolve()) if nlu is not None else None
        if self.guidelines_dir:
            gd = self.resolve_path(self.guidelines_dir, base)
            data["guidelines_dir"] = str(gd.resolve()) if gd is not None else None
        return data


def _close(t: time) -> str:
    return "24:00" if t == time(23, 59, 59) else f"{t:%H:%M}"


def _no_duplicates(values: list[str], where: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{where}: {v!r} appears twice")
        seen.add(v)
