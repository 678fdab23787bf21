"""A tenant's widget secrets, resolved by reference — never stored in its configuration.

Order: the environment variable named by ``widget_secret_env``, else the file named by
``widget_secret_file``; a legacy literal ``site_secret`` is honoured outside production only.
In development and test, a tenant with none of these gets a per-tenant secret derived from
``SWITCHBOARD_SECRET_KEY`` (HMAC-SHA256 of the tenant id), so ``make run`` needs no setup and
the process secret signs something real. The previous secret (``widget_secret_previous_env``)
is accepted for verification during a rotation.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Any

from core.errors import ConfigurationError
from core.settings import Settings

__all__ = ["derived_secret", "widget_secrets"]


def derived_secret(settings: Settings, tenant_id: str) -> str:
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, f"widget:{tenant_id}".encode(), hashlib.sha256).hexdigest()


def _from_file(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"widget_secret_file {name!r} cannot be read: {exc.strerror}") from None


def widget_secrets(settings: Settings, tenant_id: str, config: dict[str, Any]) -> list[str]:
    """[current, previous…] secrets for signing (first) and verifying (any). Empty: none."""
    out: list[str] = []
    env_name = config.get("widget_secret_env")
    if env_name and os.environ.get(str(env_name)):
        out.append(os.environ[str(env_name)])
    elif config.get("widget_secret_file"):
        out.append(_from_file(str(config["widget_secret_file"])))
    elif config.get("site_secret") and settings.environment != "production":
        out.append(str(config["site_secret"]))
    elif settings.environment != "production":
        out.append(derived_secret(settings, tenant_id))
    previous = config.get("widget_secret_previous_env")
    if previous and os.environ.get(str(previous)):
        out.append(os.environ[str(previous)])
    return [s for s in out if s]
