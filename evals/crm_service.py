"""The local HTTP service over a company's ``crm.json`` (``evals.crm_backend``), in its own
process on 127.0.0.1::

    python -m evals.crm_service --crm companies/acme/crm.json --port 8765 [--feeds DIR] [--journal FILE]

Routes: ``GET /health``; ``POST /actions/{name}`` with ``{"customer_id", "params"}`` (a write
carries ``Idempotency-Key``); ``GET /journal`` (the writes so far); ``POST /faults`` with
``{"mode": "none" | "error" | "slow" | "malformed"}`` so tests can make the next calls fail
the ways a real backend does (HTTP 500, no answer in time, a body that is not JSON).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from evals.crm_backend import CrmBackend, UnknownCustomer

__all__ = ["create_app", "main"]


class ActionRequest(BaseModel):
    customer_id: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class Fault(BaseModel):
    mode: Literal["none", "error", "slow", "malformed"] = "none"
    delay_s: float = 30.0


def create_app(backend: CrmBackend) -> FastAPI:
    app = FastAPI(title="CRM action service (evals)")
    app.state.fault = Fault()

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "customers": len(backend.records)}

    @app.post("/faults")
    def set_fault(fault: Fault) -> dict[str, str]:
        app.state.fault = fault
        return {"mode": fault.mode}

    @app.get("/journal")
    def journal() -> list[dict[str, Any]]:
        return backend.entries()

    @app.post("/actions/{name}", response_model=None)
    async def run(
        name: str, body: ActionRequest, request: Request, idempotency_key: str | None = Header(default=None)
    ) -> Response | dict[str, Any]:
        fault: Fault = app.state.fault
        if fault.mode == "error":
            return PlainTextResponse("internal error", status_code=500)
        if fault.mode == "slow":
            await asyncio.sleep(fault.delay_s)
        if fault.mode == "malformed":
            return Response("<html>upstream proxy error</html>", media_type="application/json")
        try:
            if idempotency_key:
                return backend.write(name, body.customer_id, body.params, idempotency_key)
            return backend.read(name, body.customer_id, body.params)
        except UnknownCustomer:
            raise HTTPException(404, "no such customer") from None

    @app.exception_handler(ValueError)
    async def bad(_: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crm", type=Path, required=True)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--feeds", type=Path)
    parser.add_argument("--journal", type=Path)
    args = parser.parse_args(argv)
    backend = CrmBackend.from_file(args.crm, args.feeds, args.journal)
    uvicorn.run(create_app(backend), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
