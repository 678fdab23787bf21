"""Request bodies are counted as they stream in and cut at the limit — before they are
buffered and before authentication — so a large or endless chunked body costs at most the
limit in memory and gets 413 at once.

A pure ASGI middleware (not ``BaseHTTPMiddleware``): it wraps ``receive``, so it also
covers ``Transfer-Encoding: chunked`` bodies that carry no ``Content-Length``. A declared
``Content-Length`` over the limit is refused before a byte of the body is read.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the body passes the limit (FastAPI re-raises it as is)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"The request body is more than {limit} bytes; the limit is {limit} bytes.")


class BodyLimit:
    """``json_limit`` bytes for JSON (and any other body), ``upload_limit`` for multipart
    uploads; JSON routes under ``/api/`` also refuse other content types (415)."""

    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int) -> None:
        if json_limit < 1 or upload_limit < 1:
            raise ValueError("body limits must be positive")
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        ctype = headers.get("content-type", "")
        is_upload = ctype.startswith("multipart/form-data")
        limit = self.upload_limit if is_upload else self.json_limit
        length = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if length is not None:
            if not length.isdigit():
                await _reply(send, 400, "The Content-Length header is not a number.", "InvalidInput")
                return
            if int(length) > limit:
                await _reply(
                    send,
                    413,
                    f"The request body is {int(length)} bytes; the limit is {limit} bytes.",
                    "PayloadTooLarge",
                )
                return
        has_body = chunked or (length is not None and length != "0")
        api = str(scope.get("path", "")).startswith("/api/")
        if api and has_body and not is_upload and not ctype.startswith("application/json"):
            await _reply(
                send,
                415,
                f"Send JSON (Content-Type: application/json), not {ctype or 'no content type'}.",
                "UnsupportedMediaType",
            )
            return

        received = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the app answers, the client gets our 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except BodyTooLarge:
            if started:
                raise
        if exceeded and not started:
            await _reply(
                send,
                413,
                f"The request body is more than {limit} bytes; the limit is {limit} bytes.",
                "PayloadTooLarge",
            )


async def _reply(send: Send, status: int, error: str, type_: str) -> None:
    body = json.dumps({"error": error, "type": type_}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
