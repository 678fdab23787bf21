"""Who is calling: widget customers (a token signed by the tenant's site) and staff
(API keys with a role). Every route declares the roles it admits (see ``deps.py``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Sequence
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


CLOCK_SKEW_S = 300
DEFAULT_MAX_LIFETIME_S = 12 * 3600  # Settings.widget_token_max_lifetime_s; a working day, not years


def sign_widget_token(
    secret: str,
    tenant_id: str,
    customer_id: str | None,
    ttl_s: int = 3600,
    visitor_id: str | None = None,
    *,
    now: float | None = None,
) -> str:
    """What a tenant's site does server-side to let its visitor (logged-in customer or
    anonymous) into the widget. ``visitor_id`` identifies the browser session. The token
    carries its issue time (``iat``) and expiry (``exp``), Unix seconds; the server refuses
    a token whose lifetime is over its maximum (``verify_widget_token``)."""
    issued = int(time.time() if now is None else now)
    claims = {
        "t": tenant_id,
        "c": customer_id,
        "v": visitor_id or secrets.token_hex(8),
        "iat": issued,
        "exp": issued + ttl_s,
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


def verify_widget_token(
    token: str,
    secret: str | Sequence[str],
    *,
    max_lifetime_s: int = DEFAULT_MAX_LIFETIME_S,
    now: float | None = None,
) -> Principal:
    """The customer a widget token speaks for. ``secret`` may be several secrets (the
    current one and, during a rotation, the previous one): any of them may have signed it.

    Raises ``Forbidden`` when the signature matches none of them, the token is expired, or
    its lifetime is longer than ``max_lifetime_s`` seconds: issued (``iat``) to expiry
    (``exp``), and for tokens without ``iat`` now to expiry — a token valid for years is
    refused however it was signed. A token issued in the future (beyond 5 minutes of clock
    skew) is refused too."""
    try:
        payload_b64, sig = token.split(".", 1)
    except ValueError as exc:
        raise Forbidden("Malformed widget token") from exc
    candidates = [secret] if isinstance(secret, str) else list(secret)
    signed = any(
        hmac.compare_digest(
            _b64(hmac.new(s.encode(), payload_b64.encode(), hashlib.sha256).digest()).encode(), sig.encode()
        )
        for s in candidates
        if s
    )
    if not signed:
        raise Forbidden("Widget token signature does not match")
    try:
        payload = json.loads(_unb64(payload_b64))
        if not isinstance(payload, dict) or not payload.get("t"):
            raise ValueError("no tenant")
        exp = int(payload.get("exp", 0))
        iat = int(payload["iat"]) if payload.get("iat") is not None else None
        # Ids are strings (a number would never match a stored id; an empty one is no id),
        # and a token speaks for someone: a signed-in customer, or the visitor the widget
        # session was made for (tokens with neither would share every conversation they start).
        customer, visitor = (payload.get(k) or None for k in ("c", "v"))
        if any(x is not None and not isinstance(x, str) for x in (customer, visitor)):
            raise ValueError("customer and visitor ids are strings")
        if customer is None and visitor is None:
            raise ValueError("neither a customer nor a visitor")
    except (ValueError, TypeError, AttributeError) as exc:
        raise Forbidden("Malformed widget token") from exc
    current = time.time() if now is None else now
    if exp < current:
        raise Forbidden("Widget token expired; reload the page")
    if iat is not None and iat > current + CLOCK_SKEW_S:
        raise Forbidden("Widget token is issued in the future; check the clock of the site that signs it")
    lifetime = exp - (iat if iat is not None else current)
    if lifetime > max_lifetime_s:
        raise Forbidden(
            f"Widget token lifetime is {lifetime / 3600:.1f} hours; the maximum is {max_lifetime_s / 3600:g} hours. "
            "Sign tokens for a shorter time and let the page fetch a new one."
        )
    return Principal(Role.customer, str(payload["t"]), customer, visitor_id=visitor)


def principal_for_api_key(key: str, api_keys: dict[str, str], default_tenant: str) -> Principal:
    for known, value in api_keys.items():
        if hmac.compare_digest(known.encode(), key.encode()):  # bytes: a non-ASCII key is just wrong
            tenant, _, role = value.rpartition(":")
            try:
                return Principal(Role(role), tenant or default_tenant, name=f"{role}:{known[-4:]}")
            except ValueError:
                break
    raise Forbidden("Unknown API key")
