"""Action backends: ``http`` (the company's API), ``mcp`` (a tool on an MCP server) and
``builtin`` (the Store's own records)."""

from __future__ import annotations

from bot.actions.executors.base import ActionCall, ActionResult, RemoteExecutor
from bot.actions.executors.builtin import BUILTINS, BuiltinAction
from bot.actions.executors.http import HttpActionExecutor
from bot.actions.executors.mcp import McpActionExecutor

__all__ = [
    "BUILTINS",
    "ActionCall",
    "ActionResult",
    "BuiltinAction",
    "HttpActionExecutor",
    "McpActionExecutor",
    "RemoteExecutor",
]
