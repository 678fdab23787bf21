"""Logs: one access line per request, never a credential, never a ``--- Logging error ---``.

The filters are checked against uvicorn's own formatters with records shaped exactly as
uvicorn emits them (``h11_impl`` / ``websockets_impl``), and end to end: ``switchboard
serve`` (what ``make run`` starts) answers requests carrying ``?key=``, a widget token on a
websocket and a card number in a query string, and its log shows them masked."""

from __future__ import annotations

import io
import json
import logging
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from uvicorn.logging import AccessFormatter as UvicornAccessFormatter
from uvicorn.logging import DefaultFormatter as UvicornDefaultFormatter

from core.redaction import RedactingFilter, Redactor
from server.logs import AccessFormatter, CredentialFilter, mask_credentials, mask_url
from tests.conftest import ROOT

API_KEY = "dev-agent-key"
TOKEN = "eyJ0IjogImxhcmtzcHVyIiwgImMiOiAiY3VzXzAwMSJ9.6PuoMGvI6N_xxb2AQUeh0noRPOnQj5-WTr4H0b2veGs"
UVICORN_ACCESS = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


def _access_record(path: str, status: int = 200) -> logging.LogRecord:
    # exactly what uvicorn/protocols/http/h11_impl.py logs for every response
    args = ("127.0.0.1:54321", "GET", path, "1.1", status)
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None)


def _websocket_record(path: str) -> logging.LogRecord:
    # uvicorn/protocols/websockets/websockets_impl.py on an accepted websocket
    args = ("127.0.0.1:54321", path)
    return logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]', args, None)


def _emit(record: logging.LogRecord, formatter: logging.Formatter, *filters: logging.Filter) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    for flt in filters:
        handler.addFilter(flt)
    handler.handle(record)
    return stream.getvalue()


@pytest.mark.parametrize(
    "formatter",
    [UvicornAccessFormatter(UVICORN_ACCESS, use_colors=False), AccessFormatter()],
    ids=["uvicorn-AccessFormatter", "switchboard-AccessFormatter"],
)
def test_access_line_survives_the_filters_and_masks_credentials(
    formatter: logging.Formatter, redactor: Redactor, capsys: pytest.CaptureFixture[str]
) -> None:
    record = _access_record(f"/api/agent/conversations?key={API_KEY}&q=4111+1111+1111+1111&state=open", 403)
    line = _emit(record, formatter, RedactingFilter(redactor), CredentialFilter(redactor))
    assert "--- Logging error ---" not in capsys.readouterr().err
    assert line.count("\n") == 1, line  # one line per request
    assert "/api/agent/conversations" in line and "403" in line and "state=open" in line
    assert API_KEY not in line and "key=***" in line
    assert "4111" not in line and "[CARD" in line


def test_the_pii_filter_alone_keeps_uvicorn_access_records_intact(
    redactor: Redactor, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ``Logging error`` of ``make run``: the redaction filter dropped ``record.args``,
    which uvicorn's ``AccessFormatter`` unpacks."""
    line = _emit(
        _access_record("/healthz"), UvicornAccessFormatter(UVICORN_ACCESS, use_colors=False), RedactingFilter(redactor)
    )
    assert "--- Logging error ---" not in capsys.readouterr().err
    assert '"GET /healthz HTTP/1.1" 200' in line


def test_websocket_line_masks_every_query_value(capsys: pytest.CaptureFixture[str]) -> None:
    formatter = UvicornDefaultFormatter("%(levelprefix)s %(message)s", use_colors=False)
    for path in (f"/ws/agent/queue?key={API_KEY}", f"/ws/conversations/c0ffee?token={TOKEN}&lang=en"):
        line = _emit(_websocket_record(path), formatter, CredentialFilter())
        assert API_KEY not in line and TOKEN not in line and TOKEN.split(".")[1] not in line
        assert "=***" in line and "[accepted]" in line
    assert "--- Logging error ---" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("headers: {'authorization': 'Bearer abcdefghijklmnop', 'x-api-key': 'dev-agent-key'}", "abcdefghijklmnop"),
        ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
        ("X-API-Key: dev-agent-key", "dev-agent-key"),
        (f"fetching wss://shop.example/ws/conversations/1?token={TOKEN}", TOKEN),
        (f"token {TOKEN} refused", TOKEN),
        ("GET /api/x?api_key=s3cr3t&page=2", "s3cr3t"),
        ("GET /api/x?access_token=s3cr3t", "s3cr3t"),
    ],
)
def test_credentials_are_masked_anywhere_in_a_line(text: str, secret: str) -> None:
    masked = mask_credentials(text)
    assert secret not in masked and "***" in masked
    assert mask_credentials(masked) == masked


def test_ordinary_urls_are_left_alone(redactor: Redactor) -> None:
    for url in ("/api/kb/search?q=returns&k=5", "/api/agent/conversations?state=open", "/healthz"):
        assert mask_url(url, redactor) == url


def test_our_access_formatter_writes_logfmt_fields() -> None:
    line = _emit(_access_record("/api/kb/search?q=returns+policy"), AccessFormatter(), CredentialFilter())
    fields = dict(part.split("=", 1) for part in shlex.split(line))
    assert fields["event"] == "access" and fields["method"] == "GET" and fields["status"] == "200"
    assert fields["path"] == "/api/kb/search" and fields["query"] == "q=returns+policy" and fields["http"] == "1.1"
    assert fields["client"] == "127.0.0.1:54321" and fields["ts"].endswith("Z")


# -- end to end: `switchboard serve`, as `make run` starts it -------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    from tests.e2e.server import free_port, load_demo, server_env, wait_healthy

    data = tmp_path_factory.mktemp("served")
    env = server_env(data, chat_backend="fake", embedder_backend="fake", environment="development")
    load_demo(env)
    port = free_port()
    log_path = data / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from server.cli.main import main; main()", "serve", "--port", str(port)],
            cwd=ROOT,
            env={**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(proc, f"http://127.0.0.1:{port}", log_path, time.monotonic() + 180)  # type: ignore[arg-type]
        yield f"http://127.0.0.1:{port}", log_path
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.e2e
def test_served_log_has_access_lines_and_no_credentials(served: tuple[str, Path]) -> None:
    from websockets.sync.client import connect

    base, log_path = served
    ws_base = base.replace("http://", "ws://")
    http = httpx.Client(base_url=base, timeout=120)  # the first search loads the index
    token = http.get("/api/demo/session?customer_id=cus_001").json()["token"]
    conv = http.post("/api/conversations", headers={"Authorization": f"Bearer {token}"}, json={}).json()["id"]
    assert http.get(f"/api/agent/conversations?key={API_KEY}").status_code == 403  # headers only
    assert http.get("/api/agent/conversations", headers={"X-API-Key": API_KEY}).status_code == 200
    search = http.get("/api/kb/search?q=4111+1111+1111+1111", headers={"X-API-Key": "dev-editor-key"})
    assert search.status_code == 200
    with connect(f"{ws_base}/ws/agent/queue?key={API_KEY}") as ws:  # websockets: query credentials allowed
        assert json.loads(ws.recv())["type"] == "hello"
    with connect(f"{ws_base}/ws/conversations/{conv}?token={token}") as ws:
        assert json.loads(ws.recv())["type"] == "hello"
    time.sleep(0.5)
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert "--- Logging error ---" not in log and "Traceback" not in log
    assert API_KEY not in log and token not in log and token.split(".")[1] not in log
    assert "4111+1111" not in log and "4111 1111" not in log
    access = [line for line in log.splitlines() if "event=access" in line]
    assert any(
        "path=/api/agent/conversations" in line and "key=***" in line and "status=403" in line for line in access
    )
    assert any("path=/api/kb/search" in line and "CARD" in line for line in access)
    assert sum("WebSocket /ws/" in line and "=***" in line for line in log.splitlines()) == 2
    assert os.path.getsize(log_path) < 20_000  # no multi-kilobyte tracebacks per request
