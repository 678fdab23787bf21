"""The only place where Switchboard errors become HTTP status codes."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import (
    ConfigurationError,
    Conflict,
    ContentRefused,
    Forbidden,
    InvalidInput,
    ModelTimeout,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    SwitchboardError,
    UpstreamError,
)
from core.tenancy import TenantConfigError

log = logging.getLogger("switchboard.http")

STATUS: list[tuple[type[SwitchboardError], int]] = [
    (PayloadTooLarge, 413),
    (InvalidInput, 422),
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (RateLimited, 429),
    (ModelTimeout, 504),
    (UpstreamError, 503),
    (ContentRefused, 422),
    (TenantConfigError, 422),  # a configuration sent by the caller (checked before it is stored)
    (ConfigurationError, 500),
]


def status_for(exc: SwitchboardError) -> int:
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 500


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        msg = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid":
            return "The request body is not valid JSON."
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) or "The request is not valid."


def install(app: FastAPI) -> None:
    @app.exception_handler(SwitchboardError)
    async def _switchboard(request: Request, exc: SwitchboardError) -> JSONResponse:
        code = status_for(exc)
        if code >= 500:
            log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
        headers = None
        retry_after = getattr(exc, "retry_after_s", None)  # RateLimited, StoreUnavailable
        if isinstance(exc, RateLimited) or retry_after is not None or code == 503:
            headers = {"Retry-After": str(max(1, int(retry_after or 2)))}
        return JSONResponse({"error": str(exc), "type": type(exc).__name__}, status_code=code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _validation_message(exc), "type": "InvalidInput"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc.detail), "type": "HTTPError"},
            status_code=exc.status_code,
            headers=exc.headers,  # e.g. Allow on 405
        )
