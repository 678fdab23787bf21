"""Read a nested "admin export" layout into a ``TenantConfig``.

Contact-center admin consoles export assistant settings grouped by section — ``tenant:``
(identity, hours, phones), ``assistant:`` (persona, knowledge), ``handoff:`` (queues,
triggers), ``sensitive_topics:``, ``self_service_actions:`` and ``copilot:`` (next actions).
``tenant apply`` accepts that layout too: ``looks_like_admin_layout`` tells the two apart and
``admin_to_config`` maps each section onto our fields. Fields we don't model are reported,
never silently dropped (``AdminConversion.ignored``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AdminConversion", "admin_to_config", "looks_like_admin_layout"]

_SECTIONS = {"tenant", "assistant", "handoff", "sensitive_topics", "self_service_actions", "copilot"}
_TENANT_FIELDS = {
    "id": "id",
    "name": "name",
    "legal_name": "legal_name",
    "website": "website",
    "help_centre": "help_center_url",
    "help_center": "help_center_url",
    "timezone": "timezone",
    "languages": "languages",
    "currency": "currency",
    "business_hours": "business_hours",
    "closed_dates": "closed_dates",
}
_ASSISTANT_FIELDS = ("display_name", "persona", "greeting", "scope")
_TYPES = {"string": "string", "str": "string", "integer": "integer", "int": "integer", "number": "number",
          "float": "number", "date": "date", "enum": "enum", "boolean": "enum", "bool": "enum"}


@dataclass
class AdminConversion:
    data: dict[str, Any]
    ignored: list[str] = field(default_factory=list)
    # (field, message) for a key that looks like a misspelling of one we read ("timezon"):
    # applying it would silently reset the real setting to its default, so it is an error.
    errors: list[tuple[str, str]] = field(default_factory=list)


def looks_like_admin_layout(data: object) -> bool:
    return isinstance(data, dict) and isinstance(data.get("tenant"), dict) and "id" not in data


def _param(name: str, spec: object) -> dict[str, Any]:
    spec = spec if isinstance(spec, dict) else {}
    kind = _TYPES.get(str(spec.get("type", "string")).lower(), "string")
    out: dict[str, Any] = {"name": name, "type": kind, "required": bool(spec.get("required", True))}
    if kind == "enum":
        choices = spec.get("choices") or spec.get("enum") or ["yes", "no"]
        out["choices"] = [str(c) for c in choices]
    for src, dst in (("min", "minimum"), ("max", "maximum"), ("minimum", "minimum"), ("maximum", "maximum")):
        if src in spec:
            out[dst] = spec[src]
    if "default" in spec:
        out["default"] = spec["default"]
    if "pattern" in spec:
        out["type"], out["pattern"] = "pattern", str(spec["pattern"])
    source = str(spec.get("source", "")).strip().lower()
    if not source.startswith("ask") and any(w in source for w in ("crm", "record")):
        out["source"] = "record"  # one of the customer's own records (e.g. "customer's meters in CRM")
    elif source in ("session", "customer"):
        out["source"] = source
    hints = [str(spec[k]) for k in ("source", "rule", "format") if k in spec]
    if hints:
        out["description"] = "; ".join(hints)
    if "ask" in spec:
        out["ask"] = str(spec["ask"])
    return out


def _action(raw: dict[str, Any]) -> dict[str, Any]:
    params = raw.get("parameters") or {}
    if isinstance(params, dict):
        plist = [_param(str(k), v) for k, v in params.items()]
    else:
        plist = [_param(str(p.get("name")), p) for p in params if isinstance(p, dict)]
    out: dict[str, Any] = {
        "name": str(raw.get("name", "")),
        "description": str(raw.get("description", "")) or str(raw.get("name", "")),
        "kind": "write" if str(raw.get("kind", "read")).lower() == "write" else "read",
        "parameters": plist,
        "signed_in_only": bool(raw.get("requires_authenticated_session", raw.get("signed_in_only", True))),
    }
    if "confirm_before_execute" in raw or "confirm" in raw:
        out["confirm"] = bool(raw.get("confirm_before_execute", raw.get("confirm")))
    for key in ("eligibility", "examples", "confirmation", "reply", "executor"):
        if raw.get(key):
            out[key] = raw[key]
    return out


def admin_to_config(data: dict[str, Any]) -> AdminConversion:
    """Map the admin layout onto ``TenantConfig`` fields (validate the result with
    ``parse_tenant_config``)."""
    ignored: list[str] = []
    errors: list[tuple[str, str]] = []
    out: dict[str, Any] = {}
    tenant = dict(data.get("tenant") or {})
    for key, value in tenant.items():
        if key in _TENANT_FIELDS:
            out[_TENANT_FIELDS[key]] = value
        elif key in ("phone_numbers", "external_numbers") and isinstance(value, dict):
            out.setdefault("phone_numbers", {}).update({str(k): str(v) for k, v in value.items()})
        elif key == "account_portal":
            out.setdefault("allowed_link_hosts", []).append(str(value))
        else:
            ignored.append(f"tenant.{key}")
    errors += _misspelled("tenant", tenant, (*_TENANT_FIELDS, "phone_numbers", "external_numbers", "account_portal"))
    if isinstance(out.get("business_hours"), dict):
        out["business_hours"] = {k: ("closed" if v in (None, False) else v) for k, v in out["business_hours"].items()}
    hosts = [out.get("website"), out.get("help_center_url"), *out.get("allowed_link_hosts", [])]
    out["allowed_link_hosts"] = sorted({_host(h) for h in hosts if h})

    assistant = dict(data.get("assistant") or {})
    for key in _ASSISTANT_FIELDS:
        if assistant.get(key):
            out[key] = " ".join(str(assistant[key]).split())
    redaction = assistant.get("redaction")
    never_show = redaction.get("never_show") if isinstance(redaction, dict) else None
    if isinstance(redaction, dict) and isinstance(never_show, list):
        out["private_fields"] = [str(f) for f in never_show if str(f).strip()]
        ignored.extend(f"assistant.redaction.{key}" for key in redaction if key != "never_show")
    for key in assistant:
        if key not in _ASSISTANT_FIELDS and not (key == "redaction" and isinstance(never_show, list)):
            ignored.append(f"assistant.{key}")
    errors += _misspelled("assistant", assistant, (*_ASSISTANT_FIELDS, "redaction"))

    handoff = dict(data.get("handoff") or {})
    queues = handoff.get("queues") or {}
    if isinstance(queues, dict):
        out["queues"] = {
            str(name): {
                "description": str(q.get("description", "")),
                "topics": [str(t) for t in q.get("topics", []) or []],
                "intents": [str(t) for t in q.get("intents", []) or []],
                "skills": [str(t) for t in q.get("skills", []) or []],
                "notes": " ".join(str(q.get("notes", "")).split()),
            }
            for name, q in queues.items()
            if isinstance(q, dict)
        }
        if "general" in out["queues"]:
            out["handoff"] = {"default_queue": "general"}
    attempts = handoff.get("max_failed_attempts_before_handoff", handoff.get("max_failed_attempts"))
    if attempts is not None:
        out.setdefault("handoff", {})["max_failed_attempts"] = int(attempts)
    triggers = handoff.get("triggers")
    if isinstance(triggers, list):
        names = {str(t) for t in triggers}
        h = out.setdefault("handoff", {})
        h["explicit_request"] = "explicit_request" in names
        h["frustration"] = "frustration" in names
        h["repetition"] = bool({"repeated_failure", "repetition"} & names)
        h["sensitive_topics"] = "sensitive_topic" in names or "sensitive_topics" in names
        h["cancellation"] = "cancellation" in names
    if str(handoff.get("out_of_hours", "")).startswith("queue"):
        out.setdefault("handoff", {})["after_hours_action"] = "queue_only"

    topics = []
    for raw in data.get("sensitive_topics") or []:
        if not isinstance(raw, dict):
            continue
        policy = str(raw.get("policy", "handoff"))
        topic: dict[str, Any] = {
            "key": str(raw.get("key", "")),
            "examples": [str(e) for e in raw.get("examples", []) or []],
            "policy": policy if policy in ("handoff", "emergency", "answer_then_offer_handoff") else "handoff",
        }
        for key in ("queue", "respond", "article", "skill", "reason"):
            if raw.get(key):
                topic[key] = " ".join(str(raw[key]).split())
        topics.append(topic)
    out["sensitive_topics"] = topics

    out["actions"] = [_action(a) for a in data.get("self_service_actions") or [] if isinstance(a, dict)]

    copilot = dict(data.get("copilot") or {})
    cp: dict[str, Any] = {"next_actions": []}
    if copilot.get("suggest_articles"):
        cp["suggest_articles"] = int(copilot["suggest_articles"])
    for raw in copilot.get("next_actions") or []:
        if isinstance(raw, dict):
            cp["next_actions"].append(
                {
                    "key": str(raw.get("key", "")),
                    "description": " ".join(str(raw.get("description", "")).split()),
                    "when": [str(w) for w in raw.get("when", []) or []],
                }
            )
    for key in copilot:
        if key not in ("suggest_articles", "next_actions"):
            ignored.append(f"copilot.{key}")
    out["copilot"] = cp
    for key in data:
        if key not in _SECTIONS:
            ignored.append(key)
    return AdminConversion(out, ignored, errors)


def _misspelled(section: str, keys: Iterable[str], read: Sequence[str]) -> list[tuple[str, str]]:
    """(field, message) for each key of ``section`` that is not one we read but looks like a
    misspelling of one ("timezon"): applied, it would leave the real setting at its default."""
    out = []
    for key in keys:
        if key not in read and (close := difflib.get_close_matches(str(key), read, n=1, cutoff=0.8)):
            out.append((f"{section}.{key}", f"unknown field; did you mean '{close[0]}'?"))
    return out


def _host(url: str) -> str:
    text = str(url).split("://", 1)[-1]
    return text.split("/", 1)[0].lower()
