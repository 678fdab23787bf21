"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, OperationalError

from core.language import load_profiles
from core.redaction import install_log_redaction
from core.settings import Settings
from server import errors
from server.container import Services
from server.logs import install_credential_masking
from server.middleware import BodyLimit
from server.routes import admin, agent, conversations, copilot, csat, pages, supervisor, tenants, ws
from server.routes import kb as kb_routes
from server.routes.health import router as health_router
from server.routes.pages import STATIC
from server.secrets import check_widget_secrets
from server.sweeper import Sweeper
from server.unit_vectors import UnitVectorWarmer

log = logging.getLogger("switchboard")

JSON_BODY_LIMIT = 64 * 1024  # bytes; uploads go through multipart routes with their own limit
ROUTERS = [
    health_router,  # liveness and readiness, on the event loop (never behind work)
    pages.router,
    conversations.router,
    csat.router,
    agent.router,
    ws.router,
    copilot.router,
    copilot.drafts_router,
    supervisor.router,
    admin.router,
    tenants.router,
    kb_routes.router,
]


def install_store_errors(app: FastAPI) -> None:
    """Database errors that escape a route: input the database cannot store -> 422;
    a lock or lost connection -> 503 with Retry-After (nothing was written)."""

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        return JSONResponse(
            {
                "error": "The input has something the database cannot store (a NUL character, or a value too long).",
                "type": "InvalidInput",
            },
            status_code=422,
        )

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"error": "The database is unavailable right now; please try again shortly.", "type": "StoreUnavailable"},
            status_code=503,
            headers={"Retry-After": "2"},
        )


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    services = services or Services(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        def warm_up() -> None:
            load_profiles()  # language detection ready before the first turn
            # PII redaction ready too: its recognizers are built on first use, an import of a few
            # seconds that otherwise stalls the first customer message of every worker.
            services.redactor("warm-up: +44 20 7946 0958")

        await anyio.to_thread.run_sync(warm_up)
        interval = services.settings.unanswered_sweep_s
        sweeper = Sweeper(services, interval) if interval > 0 else None
        if sweeper is not None:
            sweeper.start()  # messages a crashed process left without a reply (server/sweeper.py)
        check = services.settings.unit_vectors_check_s
        warmer = UnitVectorWarmer(services, check) if check > 0 else None
        if warmer is not None:
            warmer.start()  # answer-unit vectors of KB changes, for every worker (server/unit_vectors.py)
        yield
        if warmer is not None:
            warmer.stop()
        if sweeper is not None:
            sweeper.stop()
        services.close()

    app = FastAPI(
        title="Switchboard",
        description="Contact-center assistant: self-service bot, agent copilot, KB and evals.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = services
    if services.settings.environment == "production":
        check_widget_secrets(services.settings, services.store, services.widget_secrets)  # else refuse to start
    if services.settings.redact_pii:
        install_log_redaction(services.redactor)  # trust: defence in depth, no PII in logs
    install_credential_masking(services.redactor if services.settings.redact_pii else None)  # no keys in logs
    errors.install(app)

    # Bodies counted as they stream and cut at the limit, before buffering and before auth.
    app.add_middleware(BodyLimit, json_limit=JSON_BODY_LIMIT, upload_limit=services.settings.max_upload_bytes)
    install_store_errors(app)

    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
