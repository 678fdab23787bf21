"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from core.redaction import install_log_redaction
from core.settings import Settings
from server import errors
from server.container import Services
from server.routes import admin, agent, conversations, copilot, pages, supervisor, tenants, ws
from server.routes import kb as kb_routes
from server.routes.pages import STATIC

log = logging.getLogger("switchboard")

JSON_BODY_LIMIT = 64 * 1024  # bytes; uploads go through multipart routes with their own limit
ROUTERS = [
    pages.router,
    conversations.router,
    agent.router,
    ws.router,
    copilot.router,
    copilot.drafts_router,
    supervisor.router,
    admin.router,
    tenants.router,
    kb_routes.router,
]


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    services = services or Services(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        services.close()

    app = FastAPI(
        title="Switchboard",
        description="Contact-center assistant: self-service bot, agent copilot, KB and evals.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = services
    if services.settings.redact_pii:
        install_log_redaction(services.redactor)  # trust: defence in depth, no PII in logs
    errors.install(app)

    @app.middleware("http")
    async def guard_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.method in ("POST", "PUT", "PATCH") and request.url.path.startswith("/api/"):
            ctype = request.headers.get("content-type", "")
            is_upload = ctype.startswith("multipart/form-data")
            limit = services.settings.max_upload_bytes if is_upload else JSON_BODY_LIMIT
            length = request.headers.get("content-length")
            if length and length.isdigit() and int(length) > limit:
                return JSONResponse(
                    {
                        "error": f"The request body is {int(length)} bytes; the limit is {limit} bytes.",
                        "type": "PayloadTooLarge",
                    },
                    status_code=413,
                )
            if length not in (None, "0") and not is_upload and not ctype.startswith("application/json"):
                return JSONResponse(
                    {
                        "error": f"Send JSON (Content-Type: application/json), not {ctype or 'no content type'}.",
                        "type": "UnsupportedMediaType",
                    },
                    status_code=415,
                )
        return await call_next(request)

    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
