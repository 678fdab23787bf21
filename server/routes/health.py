"""Liveness and readiness, answered on the event loop so they never wait behind work.

``GET /healthz`` (liveness): the process serves requests; touches nothing else.
``GET /readyz`` (readiness): the database answers, and with several workers the event bus
too; otherwise 503 with ``Retry-After``. The checks run on one dedicated thread with a
timeout (never in the request thread pool, where bot turns queue) and their result is
reused for ``READY_CACHE_S`` seconds, so a burst of probes costs one check. The model's
circuit breaker is reported, not required: without the model the bot still answers
(extractively).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from server.container import Services

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_S = 1.0
READY_CACHE_S = 1.0


class _Readiness:
    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz")
        self.lock = asyncio.Lock()
        self.at = 0.0
        self.result: tuple[bool, dict[str, Any]] = (False, {})


def _checks(services: Services) -> tuple[bool, dict[str, Any]]:
    out: dict[str, Any] = {}
    ok = True
    try:
        with services.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        out["database"] = "ok"
    except Exception as exc:  # noqa: BLE001  (reported, not raised)
        ok = False
        out["database"] = f"unavailable: {type(exc).__name__}"
    if services.settings.event_bus_backend == "redis":
        try:
            import redis

            client = redis.Redis.from_url(
                services.settings.redis_url, socket_connect_timeout=CHECK_TIMEOUT_S, socket_timeout=CHECK_TIMEOUT_S
            )
            try:
                client.ping()
            finally:
                client.close()
            out["event_bus"] = "ok"
        except Exception as exc:  # noqa: BLE001
            ok = False  # a worker whose websockets cannot hear the others should not take traffic
            out["event_bus"] = f"unavailable: {type(exc).__name__}"
    chat = services.__dict__.get("chat")  # only if built: readiness never loads a model
    breaker = getattr(chat, "breaker", None)
    out["model"] = breaker.state if breaker is not None else "not loaded"
    return ok, out


def _readiness(request: Request) -> _Readiness:
    state = request.app.state
    if not hasattr(state, "readiness"):
        state.readiness = _Readiness()
    return state.readiness  # type: ignore[no-any-return]


@router.get("/healthz")
async def liveness(request: Request) -> dict[str, str]:
    """Liveness: the process is up and its event loop answers."""
    services: Services = request.app.state.services
    return {"status": "ok", "chat": services.settings.chat_backend}


@router.get("/readyz", responses={503: {"description": "Not ready: a dependency is down (see Retry-After)."}})
async def readiness(request: Request) -> JSONResponse:
    """Readiness: the database (and the event bus, with several workers) answers."""
    services: Services = request.app.state.services
    probe = _readiness(request)
    async with probe.lock:
        if time.monotonic() - probe.at > READY_CACHE_S:
            loop = asyncio.get_running_loop()
            try:
                probe.result = await asyncio.wait_for(
                    loop.run_in_executor(probe.pool, _checks, services), CHECK_TIMEOUT_S * 3
                )
            except TimeoutError:
                probe.result = (False, {"checks": "timed out"})
            probe.at = time.monotonic()
    ok, checks = probe.result
    if ok:
        return JSONResponse({"status": "ready", **checks})
    return JSONResponse({"status": "unavailable", **checks}, status_code=503, headers={"Retry-After": "5"})
