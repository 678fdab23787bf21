"""An MCP server (the official SDK's ``MCPServer``) exposing a company's actions over its
``crm.json`` as tools, one per action name, with the same answers as ``evals.crm_service``::

    python -m evals.crm_mcp --crm crm.json --action get_balance [--action …] [--journal FILE]
        [--transport stdio | streamable-http --port 8766]

Each tool takes ``customer_id``, ``params`` and, for a write, ``idempotency_key``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evals.crm_backend import CrmBackend, UnknownCustomer

__all__ = ["build_server", "main"]


def build_server(backend: CrmBackend, actions: list[str]) -> Any:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("crm-actions")

    def tool_for(name: str) -> Any:
        def run(
            customer_id: str | None = None, params: dict[str, Any] | None = None, idempotency_key: str | None = None
        ) -> dict[str, Any]:
            try:
                if idempotency_key:
                    return backend.write(name, customer_id, params or {}, idempotency_key)
                return backend.read(name, customer_id, params or {})
            except UnknownCustomer:
                raise ValueError("no such customer") from None

        return run

    for name in actions:
        server.add_tool(tool_for(name), name=name, description=f"The company's {name.replace('_', ' ')} action.")
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crm", type=Path, required=True)
    parser.add_argument("--action", action="append", required=True)
    parser.add_argument("--journal", type=Path)
    parser.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args(argv)
    server = build_server(CrmBackend.from_file(args.crm, journal=args.journal), args.action)
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
