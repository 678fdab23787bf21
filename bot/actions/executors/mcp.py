"""``mcp`` executor: a tool on an MCP server, called with the official MCP Python SDK.

The server is a streamable HTTP ``url`` or a stdio ``command`` (the SDK starts it as a child
process and stops it after the call). Arguments are the action's parameters, or the
``arguments`` template (``{customer_id}``, ``{idempotency_key}`` as for HTTP bodies). The
tool's structured result — else its text content read as JSON, else the text itself — is the
result. A tool error (``isError``) is ``ActionFailed("error")``; no answer within
``timeout_s`` is ``timeout``; a server that cannot be started or reached is ``unavailable``.
The SDK is asynchronous; the bot's turn is not, so each call runs on its own event loop in a
worker thread (safe whether or not the caller already runs one).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from bot.actions.errors import ActionFailed
from bot.actions.executors.base import ActionCall, ActionResult, expand, pick, secret_env
from core.tenancy.actions import McpExecutor

__all__ = ["McpActionExecutor"]


class McpActionExecutor:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = env

    def call(self, call: ActionCall) -> ActionResult:
        cfg = call.spec.executor
        assert isinstance(cfg, McpExecutor)
        arguments = expand(cfg.arguments, call.values()) if cfg.arguments is not None else dict(call.args)
        env = {k: secret_env(v, self.env) for k, v in cfg.env.items()}
        where = cfg.url or " ".join(cfg.command or [])
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(asyncio.run, _call_tool(cfg, arguments, env))
            try:
                result = future.result(timeout=cfg.timeout_s + 5)
            except (TimeoutError, FutureTimeout) as exc:
                raise ActionFailed(
                    "timeout", f"MCP tool {cfg.tool} at {where}: no answer within {cfg.timeout_s:g}s"
                ) from exc
            except ActionFailed:
                raise
            except Exception as exc:  # noqa: BLE001 — the SDK raises many kinds; all mean "could not call it"
                raise ActionFailed(
                    "unavailable", f"MCP tool {cfg.tool} at {where}: {type(exc).__name__}: {exc}"
                ) from exc
        return ActionResult(data=pick(result, cfg.result_path))


async def _call_tool(cfg: McpExecutor, arguments: dict[str, Any], env: dict[str, str]) -> Any:
    from mcp import Client, StdioServerParameters  # the SDK is imported only when a tool is called

    server: Any
    if cfg.url:
        server = cfg.url
    else:
        assert cfg.command
        server = StdioServerParameters(command=cfg.command[0], args=list(cfg.command[1:]), env=env or None)
    try:
        async with asyncio.timeout(cfg.timeout_s):
            async with Client(server, read_timeout_seconds=cfg.timeout_s) as client:
                result = await client.call_tool(cfg.tool, arguments)
    except TimeoutError as exc:
        raise ActionFailed("timeout", f"MCP tool {cfg.tool}: no answer within {cfg.timeout_s:g}s") from exc
    texts = [getattr(block, "text", "") for block in result.content]
    if result.is_error:
        raise ActionFailed("error", f"MCP tool {cfg.tool} reported an error: {' '.join(texts)[:200]}")
    if result.structured_content is not None:
        data = result.structured_content
        # Tools that return a plain value are wrapped by the SDK as {"result": value}.
        return data["result"] if isinstance(data, dict) and set(data) == {"result"} else data
    text = "\n".join(t for t in texts if t)
    if not text:
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"text": text}
