"""``http`` executor: the company's API over HTTP (httpx).

The request is built from the action's ``HttpExecutor`` configuration (see its docstring in
``core.tenancy.actions``); a write carries ``Idempotency-Key``. Every way it can go wrong
becomes ``ActionFailed`` with a kind and a detail for the agent: connection refused or reset
(``unavailable``), no answer within ``timeout_s`` (``timeout``), a 4xx/5xx status
(``error``), a body that is not JSON or lacks ``result_path`` (``malformed``), a header
secret whose environment variable is unset (``unconfigured``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from string import Formatter
from urllib.parse import quote

import httpx

from bot.actions.errors import ActionFailed
from bot.actions.executors.base import ActionCall, ActionResult, expand, pick, secret_env
from core.tenancy.actions import HttpExecutor

__all__ = ["HttpActionExecutor"]


class HttpActionExecutor:
    """``transport``: an httpx transport for tests (``httpx.MockTransport``) or None (the network);
    ``env``: where ``${NAME}`` header secrets come from (default ``os.environ``)."""

    def __init__(self, transport: httpx.BaseTransport | None = None, env: Mapping[str, str] | None = None) -> None:
        self.transport = transport
        self.env = env

    def call(self, call: ActionCall) -> ActionResult:
        cfg = call.spec.executor
        assert isinstance(cfg, HttpExecutor)
        values = call.values()
        used = {name for _, name, _, _ in Formatter().parse(cfg.url) if name}
        url = cfg.url
        for name in used:
            value = values.get(name)
            url = url.replace("{" + name + "}", quote("" if value is None else str(value), safe=""))
        headers = {k: secret_env(v, self.env) for k, v in cfg.headers.items()}
        headers.setdefault("Accept", "application/json")
        if call.idempotency_key:
            headers["Idempotency-Key"] = call.idempotency_key
        body = None
        query: dict[str, str] = {}
        if cfg.body is not None:
            body = expand(cfg.body, values)
        elif cfg.method in ("POST", "PUT", "PATCH"):
            body = {**call.args, "customer_id": call.customer_id}
        else:
            query = {k: str(v) for k, v in call.args.items() if k not in used and v is not None}
        try:
            with httpx.Client(transport=self.transport, timeout=cfg.timeout_s) as client:
                response = client.request(cfg.method, url, headers=headers, json=body, params=query or None)
        except httpx.TimeoutException as exc:
            raise ActionFailed("timeout", f"{cfg.method} {_where(url)}: no answer within {cfg.timeout_s:g}s") from exc
        except httpx.HTTPError as exc:
            raise ActionFailed("unavailable", f"{cfg.method} {_where(url)}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise ActionFailed(
                "error", f"{cfg.method} {_where(url)} answered HTTP {response.status_code}: {response.text[:200]}"
            )
        if not response.content.strip():
            return ActionResult(data={})
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ActionFailed(
                "malformed", f"{cfg.method} {_where(url)} answered something that is not JSON: {response.text[:120]!r}"
            ) from exc
        return ActionResult(data=pick(data, cfg.result_path))


def _where(url: str) -> str:
    """The URL without its query (it may carry customer data)."""
    return url.split("?", 1)[0]
