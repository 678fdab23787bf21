"""A tenant's widget secrets, resolved by reference — never stored in its configuration.

Where the current secret comes from (first that applies):

1. the environment variable named by ``widget_secret_env``;
2. the file named by ``widget_secret_file`` (its whole content, surrounding whitespace
   stripped);
3. development and test only: a literal ``site_secret`` in the stored configuration
   (legacy; the tests and old demo data use it), else a per-tenant secret derived from
   ``SWITCHBOARD_SECRET_KEY`` (``HMAC-SHA256(key, "widget:" + tenant id)``), so ``make run``
   needs no setup and the process secret signs something real.

Rotation: ``widget_secret_previous_env`` names the variable holding the old secret. It is
accepted for verifying (never for signing) during ``widget_secret_overlap_hours`` after
this process first saw it — a rotation is a deploy: put the new secret in the current
variable, the old one in the previous variable, restart, let the site switch, and remove
the previous variable after the overlap. Tokens live at most
``SWITCHBOARD_WIDGET_TOKEN_MAX_LIFETIME_S`` (12 h), so an overlap of that length is enough.

Production refuses, at start-up (``check_widget_secrets``, called by ``create_app`` for
every stored tenant) and again at first use (a tenant added later):

* a missing secret (no variable, no file, or the variable is empty);
* a literal ``site_secret`` in the configuration (a secret in the database is not a reference);
* a secret shorter than ``MIN_SECRET_BYTES`` (32 bytes, the HMAC-SHA256 key size NIST
  SP 800-107 recommends: at least the hash's output length);
* a published secret: one shipped with this repository's demo, tests or eval fixtures
  (kept here as SHA-256 digests), a placeholder, or a secret derived from a placeholder
  ``SWITCHBOARD_SECRET_KEY``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.db.schema import Tenant
from core.db.store import Store
from core.errors import ConfigurationError
from core.settings import Settings

__all__ = [
    "MIN_SECRET_BYTES",
    "ResolvedSecrets",
    "WidgetSecrets",
    "check_widget_secrets",
    "derived_secret",
    "resolve_widget_secrets",
    "stored_tenants",
    "widget_secrets",
]

log = logging.getLogger("switchboard.secrets")

MIN_SECRET_BYTES = 32
DEFAULT_OVERLAP_HOURS = 24
# SHA-256 of secrets published with Switchboard (the old demo's and the evaluation
# dataset's site secrets, the test suite's) and of placeholders: never valid in production.
_PUBLISHED_SHA256 = frozenset(
    {
        "dcbcb3b2700e0203283c3248b9f6b89a0f4bb65df895adaee01cc7b01b190587",  # old demo site secret
        "4c0ac3d3aceb687b89e71eaeee7373d520c306c5e6fa65f1fdbc50dcd47ab5f9",  # evals dataset tenant
        "458ffa3a8cefa39007cbeec0cbb393072ef471835831d5c028d6b32619ef68c2",  # tests: second tenant
        "26dca7ed1fc206d32f23314414b6a1a85dcea3cf4a1854207fe345ed4fb18e36",  # tests: conversation scope
    }
)
_PLACEHOLDERS = ("", "change-me", "changeme", "dev-secret", "secret", "test", "password")


def derived_secret(settings: Settings, tenant_id: str) -> str:
    """The development secret of ``tenant_id``: hex HMAC-SHA256 of ``"widget:" + tenant_id``
    keyed by ``SWITCHBOARD_SECRET_KEY`` (64 characters)."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, f"widget:{tenant_id}".encode(), hashlib.sha256).hexdigest()


def _published(secret: str, tenant_id: str) -> bool:
    if secret.strip().lower() in _PLACEHOLDERS:
        return True
    if hashlib.sha256(secret.encode()).hexdigest() in _PUBLISHED_SHA256:
        return True
    derived_from_placeholder = (
        hmac.new(p.encode(), f"widget:{tenant_id}".encode(), hashlib.sha256).hexdigest() for p in _PLACEHOLDERS if p
    )
    return any(hmac.compare_digest(secret, d) for d in derived_from_placeholder)


@dataclass(frozen=True)
class ResolvedSecrets:
    """A tenant's widget secrets: ``current`` signs and verifies; ``previous`` (during a
    rotation) only verifies. ``source`` says where the current one came from (never the
    secret itself), for messages and logs."""

    tenant_id: str
    current: str
    source: str
    previous: str | None = None
    overlap_hours: float = DEFAULT_OVERLAP_HOURS

    def __repr__(self) -> str:  # never print a secret
        return f"ResolvedSecrets(tenant_id={self.tenant_id!r}, source={self.source!r}, previous={bool(self.previous)})"


def _read_file(tenant_id: str, name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(
            f"Tenant {tenant_id!r}: widget_secret_file {name!r} cannot be read ({exc.strerror}); "
            "check the path and its permissions"
        ) from None


def _check(settings: Settings, tenant_id: str, secret: str, where: str) -> None:
    if settings.environment != "production":
        return
    if _published(secret, tenant_id):
        raise ConfigurationError(
            f"Tenant {tenant_id!r}: the widget secret from {where} is a published demo, test or evaluation "
            "secret (or a placeholder); generate a new one, e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'`"
        )
    size = len(secret.encode("utf-8"))
    if size < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"Tenant {tenant_id!r}: the widget secret from {where} is {size} bytes; production needs at "
            f"least {MIN_SECRET_BYTES} bytes of random data"
        )


def resolve_widget_secrets(settings: Settings, tenant_id: str, config: Mapping[str, Any]) -> ResolvedSecrets:
    """``tenant_id``'s current (and previous) widget secrets from its stored configuration
    ``config`` (see the module docstring for the order). Raises ``ConfigurationError`` in
    production for a missing, literal, short or published secret, and anywhere for an
    unreadable ``widget_secret_file``."""
    production = settings.environment == "production"
    env_name = str(config.get("widget_secret_env") or "")
    file_name = str(config.get("widget_secret_file") or "")
    current, source = "", ""
    if env_name and os.environ.get(env_name):
        current, source = os.environ[env_name], f"environment variable {env_name}"
    elif file_name:
        current, source = _read_file(tenant_id, file_name), f"file {file_name}"
    elif production:
        if config.get("site_secret"):
            raise ConfigurationError(
                f"Tenant {tenant_id!r}: its configuration holds a literal site_secret, which production refuses; "
                "put the secret in an environment variable or a file and name it with widget_secret_env or "
                "widget_secret_file (`switchboard tenant apply`)"
            )
        wanted = (
            f"set the environment variable {env_name}" if env_name else "set widget_secret_env or widget_secret_file"
        )
        raise ConfigurationError(f"Tenant {tenant_id!r} has no widget secret: {wanted}")
    elif config.get("site_secret"):
        current, source = str(config["site_secret"]), "site_secret (development only)"
    else:
        current, source = derived_secret(settings, tenant_id), "derived from SWITCHBOARD_SECRET_KEY (development only)"
    if not current:
        raise ConfigurationError(f"Tenant {tenant_id!r}: the widget secret from {source} is empty")
    _check(settings, tenant_id, current, source)
    previous_env = str(config.get("widget_secret_previous_env") or "")
    previous = os.environ.get(previous_env) if previous_env else None
    if previous:
        _check(settings, tenant_id, previous, f"environment variable {previous_env} (previous)")
    overlap = config.get("widget_secret_overlap_hours")
    return ResolvedSecrets(
        tenant_id,
        current,
        source,
        previous or None,
        float(overlap) if isinstance(overlap, int | float) else DEFAULT_OVERLAP_HOURS,
    )


def widget_secrets(settings: Settings, tenant_id: str, config: Mapping[str, Any]) -> list[str]:
    """[current, previous] (the previous one only while configured): the first signs, any
    verifies. Without the overlap window of ``WidgetSecrets``; for signing use ``[0]``."""
    resolved = resolve_widget_secrets(settings, tenant_id, config)
    return [resolved.current] + ([resolved.previous] if resolved.previous else [])


class WidgetSecrets:
    """The process's view of every tenant's widget secrets, with the rotation window: a
    previous secret verifies tokens for ``overlap_hours`` after this process first saw it.
    Thread-safe; ``clock`` returns Unix seconds."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self._first_seen: dict[tuple[str, str], float] = {}  # (tenant, digest of previous) -> when
        self._lock = threading.Lock()

    def signing(self, tenant_id: str, config: Mapping[str, Any]) -> str:
        return resolve_widget_secrets(self.settings, tenant_id, config).current

    def verifying(self, tenant_id: str, config: Mapping[str, Any]) -> list[str]:
        """The secrets a token of ``tenant_id`` may be signed with now."""
        resolved = resolve_widget_secrets(self.settings, tenant_id, config)
        if not resolved.previous:
            return [resolved.current]
        digest = hashlib.sha256(resolved.previous.encode()).hexdigest()
        now = self.clock()
        with self._lock:
            since = self._first_seen.setdefault((tenant_id, digest), now)
        if now - since <= resolved.overlap_hours * 3600:
            return [resolved.current, resolved.previous]
        if now - since <= resolved.overlap_hours * 3600 + 60:  # say it once, around the end
            log.warning(
                "tenant %s: the previous widget secret is no longer accepted (overlap of %g h is over); "
                "remove widget_secret_previous_env",
                tenant_id,
                resolved.overlap_hours,
            )
        return [resolved.current]

    def start(self, tenants: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Resolve every tenant once (start-up), so every previous secret's overlap starts
        now. In production, raise one ``ConfigurationError`` listing every tenant whose
        secret is missing, literal, short or published; elsewhere log them."""
        problems: list[str] = []
        for tenant_id, config in tenants:
            try:
                self.verifying(tenant_id, config)
            except ConfigurationError as exc:
                problems.append(str(exc))
        if not problems:
            return
        if self.settings.environment == "production":
            raise ConfigurationError("Widget secrets are not production-ready:\n- " + "\n- ".join(problems))
        for problem in problems:
            log.warning("%s", problem)


def stored_tenants(store: Store) -> list[tuple[str, dict[str, Any]]]:
    """(tenant id, stored configuration) of every tenant in the store."""
    with store.admin_session() as s:
        return [(tid, dict(config or {})) for tid, config in s.execute(select(Tenant.id, Tenant.config))]


def check_widget_secrets(settings: Settings, store: Store, secrets: WidgetSecrets | None = None) -> WidgetSecrets:
    """Start-up check of every stored tenant's widget secrets (``WidgetSecrets.start``);
    returns the ``WidgetSecrets`` that did it (their overlap windows start now)."""
    secrets = secrets or WidgetSecrets(settings)
    secrets.start(stored_tenants(store))
    return secrets
