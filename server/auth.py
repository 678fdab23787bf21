"""Who is calling: widget customers (a token signed by the tenant's site) and staff
(API keys with a role). Every route declares the roles it admits (see ``deps.py``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from enum import Enum

from core.errors import Forbidden


class Role(str, Enum):
    customer = "customer"
    agent = "agent"
    editor = "editor"
    supervisor = "supervisor"
    evaluator = "evaluator"
    admin = "admin"  # platform operator: creates and deletes tenants (API key value "*:admin")


@dataclass(frozen=True)
class Principal:
    role: Role
    tenant_id: str
    customer_id: str | None = None  # customers only; None for anonymous visitors
    visitor_id: str | None = None  # the widget session (customers only)
    name: str = ""

    @property
    def actor(self) -> str:
        return self.name or (f"customer:{self.customer_id}" if self.customer_id else self.role.value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_widget_token(
    secret: str, tenant_id: str, customer_id: str | None, ttl_s: int = 3600, visitor_id: str | None = None
) -> str:
    """What a tenant's site does server-side to let its visitor (logged-in customer or
    anonymous) into the widget. ``visitor_id`` identifies the browser session."""
    claims = {
        "t": tenant_id,
        "c": customer_id,
        "v": visitor_id or secrets.token_hex(8),
        "exp": int(time.time()) + ttl_s,
    }
    payload = _b64(json.dumps(claims).encode())
    sig = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{sig}"


def read_widget_token_tenant(token: str) -> str:
    try:
        payload = json.loads(_unb64(token.split(".", 1)[0]))
        return str(payload["t"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:  # TypeError: JSON, but not an object
        raise Forbidden("Malformed widget token") from exc


def verify_widget_token(token: str, secret: str) -> Principal:
    try:
        payload_b64, sig = token.split(".", 1)
    except ValueError as exc:
        raise Forbidden("Malformed widget token") from exc
    expected = _b64(hmac.new(secret.encode(), payload_b64.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, sig):
        raise Forbidden("Widget token signature does not match")
    try:
        payload = json.loads(_unb64(payload_b64))
    except ValueError as exc:
        raise Forbidden("Malformed widget token") from exc
    if int(payload.get("exp", 0)) < time.time():
        raise Forbidden("Widget token expired; reload the page")
    return Principal(Role.customer, str(payload["t"]), payload.get("c"), visitor_id=payload.get("v"))


def principal_for_api_key(key: str, api_keys: dict[str, str], default_tenant: str) -> Principal:
    for known, value in api_keys.items():
        if hmac.compare_digest(known, key):
            tenant, _, role = value.rpartition(":")
            try:
                return Principal(Role(role), tenant or default_tenant, name=f"{role}:{known[-4:]}")
            except ValueError:
                break
    raise Forbidden("Unknown API key")
