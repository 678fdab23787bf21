"""Executors for a company folder's actions during an eval or a test.

A company's configuration declares its actions; an admin export often declares no executor
(the company's API is not part of the folder). ``local_action_service`` starts the local HTTP
service over the folder's ``crm.json`` (``evals.crm_service``) in its own process on
127.0.0.1, and ``bind_actions`` points every action that has no executor at it::

    with local_action_service(folder / "crm.json") as base_url:
        data = bind_actions(tenant_data, base_url)     # the tenant configuration (dict), bound
        ...apply the tenant, play the cases...

``mcp_stdio_executor`` is the executor of an action served by ``evals.crm_mcp`` (the SDK's
server, started per call over stdio).
"""

from __future__ import annotations

import copy
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from core.db.store import Store
from core.errors import ConfigurationError
from core.tenancy.load import parse_tenant_config
from core.tenancy.registry import TenantRegistry

__all__ = [
    "bind_actions",
    "bind_missing_executors",
    "free_port",
    "http_executor",
    "local_action_service",
    "local_mcp_server",
    "mcp_http_executor",
    "mcp_stdio_executor",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_action_service(
    crm: Path,
    *,
    feeds: Path | None = None,
    journal: Path | None = None,
    port: int | None = None,
    startup_s: float = 20.0,
) -> Iterator[str]:
    """Run ``evals.crm_service`` over ``crm`` until the block ends; yields its base URL.
    Raises ``ConfigurationError`` when it does not answer ``/health`` within ``startup_s``."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "evals.crm_service", "--crm", str(crm), "--port", str(port)]
    if feeds is not None:
        cmd += ["--feeds", str(feeds)]
    if journal is not None:
        cmd += ["--journal", str(journal)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
                raise ConfigurationError(f"the local action service exited ({proc.returncode}): {err}")
            try:
                if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ConfigurationError(f"the local action service did not start within {startup_s:g}s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


@contextmanager
def local_mcp_server(
    crm: Path, actions: list[str], *, journal: Path | None = None, port: int | None = None, startup_s: float = 30.0
) -> Iterator[str]:
    """Run ``evals.crm_mcp`` over streamable HTTP until the block ends; yields its MCP URL.
    Raises ``ConfigurationError`` when it does not listen within ``startup_s``."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "evals.crm_mcp", "--crm", str(crm), "--transport", "streamable-http"]
    cmd += ["--port", str(port)] + [x for a in actions for x in ("--action", a)]
    if journal is not None:
        cmd += ["--journal", str(journal)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise ConfigurationError(f"the local MCP server exited ({proc.returncode})")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise ConfigurationError(f"the local MCP server did not start within {startup_s:g}s")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def mcp_http_executor(url: str, action: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """The ``mcp`` executor of ``action`` on an MCP server over streamable HTTP."""
    return {
        "type": "mcp",
        "tool": action,
        "url": url,
        "arguments": {"customer_id": "{customer_id}", "params": "{params}", "idempotency_key": "{idempotency_key}"},
        "timeout_s": timeout_s,
    }


def http_executor(base_url: str, action: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """The ``http`` executor of ``action`` on the local service."""
    return {
        "type": "http",
        "method": "POST",
        "url": f"{base_url.rstrip('/')}/actions/{action}",
        "body": {"customer_id": "{customer_id}", "params": "{params}"},
        "timeout_s": timeout_s,
    }


def mcp_stdio_executor(
    crm: Path, action: str, *, journal: Path | None = None, timeout_s: float = 20.0
) -> dict[str, Any]:
    """The ``mcp`` executor of ``action`` on ``evals.crm_mcp`` started over stdio per call."""
    command = [sys.executable, "-m", "evals.crm_mcp", "--crm", str(crm), "--action", action]
    if journal is not None:
        command += ["--journal", str(journal)]
    return {
        "type": "mcp",
        "tool": action,
        "command": command,
        "arguments": {"customer_id": "{customer_id}", "params": "{params}", "idempotency_key": "{idempotency_key}"},
        "timeout_s": timeout_s,
    }


def bind_actions(config: dict[str, Any], base_url: str, *, only_missing: bool = True) -> dict[str, Any]:
    """A copy of a tenant configuration (the dict form) whose actions without an executor
    call the local service at ``base_url`` (``only_missing=False``: all of them)."""
    out = copy.deepcopy(config)
    for action in out.get("actions") or []:
        if isinstance(action, dict) and (not action.get("executor") or not only_missing):
            action["executor"] = http_executor(base_url, str(action.get("name", "")))
    return out


def bind_missing_executors(store: Store, tenant_id: str, base_url: str) -> list[str]:
    """Point the stored tenant's actions that declare no executor at the local service and
    store the configuration again (audited as ``tenant.updated`` by ``evals``). Returns the
    names of the actions bound; the caller drops what it built from the old configuration
    (``Services.tenant_changed``)."""
    registry = TenantRegistry(store)
    config = registry.get(tenant_id)
    missing = [a.name for a in config.actions if a.executor is None]
    if missing:
        data = bind_actions(config.model_dump(mode="json"), base_url)
        registry.apply(parse_tenant_config(data, f"tenant {tenant_id!r} (actions bound to {base_url})"), actor="evals")
    return missing
