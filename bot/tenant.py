"""Per-tenant policy, read from the tenant's configuration (``core.tenancy``) on every turn:
name and scope (greetings, refusals, prompts), business hours and closed dates, languages,
currency, queues, sensitive topics and handoff triggers. A tenant stored before typed
configurations existed (a plain dict) still loads, with defaults for what it lacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.hours import BusinessHours
from bot.triggers import TriggerConfig
from core.db.store import Store
from core.tenancy import TenantConfig, TenantConfigError, parse_tenant_config
from core.tenancy.config import QueueSpec, SensitiveTopic


@dataclass(frozen=True)
class TenantPolicy:
    name: str = "our"
    hours: BusinessHours = field(default_factory=BusinessHours)
    languages: frozenset[str] = frozenset({"en"})
    triggers: TriggerConfig = field(default_factory=TriggerConfig)
    display_name: str = ""
    scope: str = ""
    greeting: str = ""
    currency: str = ""
    queues: dict[str, QueueSpec] = field(default_factory=dict)
    default_queue: str = "general"
    sensitive_topics: tuple[SensitiveTopic, ...] = ()
    # Outside business hours: open a ticket and offer a call-back, or only keep the
    # conversation in its queue for the team's next shift ("queue_only").
    after_hours_action: str = "ticket_and_callback"
    config: TenantConfig | None = None

    @property
    def bot_name(self) -> str:
        return self.display_name or f"{self.name} assistant"

    def queue_for(self, topic: str | None) -> str | None:
        """The tenant's queue for a topic or intent, or None when its configuration names none."""
        if self.config is None:
            return None
        return self.config.queue_for_topic(topic)

    @classmethod
    def from_typed(cls, config: TenantConfig) -> TenantPolicy:
        h = config.handoff
        triggers = TriggerConfig(
            explicit_request=h.explicit_request,
            sensitive_topics=h.sensitive_topics,
            frustration=h.frustration,
            repetition=h.repetition,
            no_answer=h.no_answer,
            after_hours=h.after_hours,
            cancellation=h.cancellation,
            no_answer_limit=h.max_failed_attempts,
        )
        return cls(
            name=config.name,
            hours=BusinessHours.from_typed(config),
            languages=frozenset(config.languages),
            triggers=triggers,
            display_name=config.display_name,
            scope=config.scope,
            greeting=config.greeting,
            currency=config.currency,
            queues=dict(config.queues),
            default_queue=h.default_queue,
            sensitive_topics=tuple(config.sensitive_topics),
            after_hours_action=h.after_hours_action,
            config=config,
        )

    @classmethod
    def from_config(cls, name: str, config: dict[str, object]) -> TenantPolicy:
        """A legacy (untyped) configuration dict."""
        langs = config.get("languages")
        languages = frozenset(str(x) for x in langs) if isinstance(langs, list) and langs else frozenset({"en"})
        return cls(
            name=str(config.get("name") or name),
            hours=BusinessHours.from_config(config),
            languages=languages,
            triggers=TriggerConfig.from_config(config),
        )


def load_policy(store: Store, tenant_id: str) -> TenantPolicy:
    row = store.tenant_row(tenant_id)
    if row is None:
        return TenantPolicy()
    return policy_from_row(tenant_id, *row)


def policy_from_row(tenant_id: str, name: str, raw: dict[str, Any]) -> TenantPolicy:
    """The policy of a stored tenant row (its name and configuration)."""
    if "id" in raw:
        try:
            return TenantPolicy.from_typed(parse_tenant_config(raw, f"tenant {tenant_id!r}"))
        except TenantConfigError:
            pass  # fall back to the legacy reading below
    return TenantPolicy.from_config(name, raw)


class TenantPolicies:
    """``load_policy`` for every turn, parsing a tenant's configuration only when it changed:
    the row is read as before (one read per turn inside ``Store.tenant_snapshot``) and
    compared with the one the kept policy was built from. Thread-safe (a lost race parses
    twice)."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[str, dict[str, Any], TenantPolicy]] = {}

    def load(self, store: Store, tenant_id: str) -> TenantPolicy:
        row = store.tenant_row(tenant_id)
        if row is None:
            self._kept.pop(tenant_id, None)
            return TenantPolicy()
        name, raw = row
        kept = self._kept.get(tenant_id)
        if kept is not None and kept[0] == name and kept[1] == raw:
            return kept[2]
        policy = policy_from_row(tenant_id, name, raw)
        self._kept[tenant_id] = (name, raw, policy)
        return policy
