"""Logging for the server: one structured access line per request, and no credentials in
any log line.

* ``CredentialFilter`` masks credentials in every record, keeping the record's shape
  (uvicorn's ``AccessFormatter`` unpacks ``record.args`` into five fields, so a filter that
  collapses the arguments breaks every access line): the values of query parameters named
  like a credential (``key``, ``token``, ``api_key``, ``access_token``, ``password``,
  ``secret``, ``signature``…), the whole query string of websocket URLs (they carry widget
  tokens and staff API keys), ``Authorization`` / ``X-API-Key`` header values, bearer
  tokens and widget tokens written anywhere. Given a redactor, it also redacts personal
  data in the URL of an access line after URL-decoding it (``?q=4111+1111+1111+1111``).
* ``AccessFormatter`` writes the access record as one logfmt line
  (``ts=… level=INFO event=access client=… method=GET path=/api/… query="key=***" status=200
  http=1.1``).
* ``log_config()`` is the ``logging.config.dictConfig`` that ``switchboard serve`` hands
  to uvicorn; ``install_credential_masking()`` adds the filter to the handlers of an app
  that runs under another server.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

__all__ = [
    "AccessFormatter",
    "CredentialFilter",
    "install_credential_masking",
    "log_config",
    "mask_credentials",
    "mask_url",
]

MASK = "***"
# Query parameter names whose values are credentials (compared case-insensitively, with
# "-" read as "_"): ours (key, token) and the usual names of OAuth, signed URLs and forms.
CREDENTIAL_PARAMS = frozenset(
    {
        "key",
        "token",
        "api_key",
        "apikey",
        "access_token",
        "refresh_token",
        "id_token",
        "auth",
        "authorization",
        "password",
        "passwd",
        "pwd",
        "secret",
        "client_secret",
        "signature",
        "sig",
        "session",
        "code",
    }
)
_PARAM_NAMES = "|".join(sorted((re.escape(n).replace("_", "[_-]") for n in CREDENTIAL_PARAMS), key=len, reverse=True))
# name=value inside a query string (after ? & or ;), value up to the next separator
_QUERY_CREDENTIAL = re.compile(rf"(?i)(?<=[?&;])((?:{_PARAM_NAMES})=)[^&;#\s\"'<>]*")
# a websocket URL or uvicorn's websocket line ("WebSocket /ws/...?..."): every query value
_WS_URL = re.compile(r"(?i)((?:wss?://[^\s/\"'?]+)?/ws/[^\s\"'?]*\?)([^\s\"'#]*)")
_WS_LINE = re.compile(r'(?i)(WebSocket\s+[^\s"?]*\?)([^\s"#]*)')
# header values: "Authorization: Bearer …", "'authorization': b'…'", "X-API-Key=…"
_HEADER = re.compile(
    r"(?i)((?:proxy-)?authorization|x-api-key|api-key|cookie)([\"']?\s*[:=,]\s*(?:b(?=[\"']))?[\"']?)"
    r"(?:(bearer|basic|token|digest)\s+)?([^\s\"',;]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
# a widget token (base64url JSON payload "eyJ…" + "." + signature) or a JWT, anywhere
_TOKEN = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}(?:\.[A-Za-z0-9_-]{8,})?")


def _mask_ws_query(query: str) -> str:
    return "&".join(f"{part.partition('=')[0]}={MASK}" if "=" in part else part for part in query.split("&"))


def mask_credentials(text: str) -> str:
    """``text`` with every credential we can recognise replaced by ``***`` (the parameter or
    header name is kept, so the line still says what was sent). Idempotent."""
    if not text:
        return text
    text = _WS_URL.sub(lambda m: m.group(1) + _mask_ws_query(m.group(2)), text)
    text = _WS_LINE.sub(lambda m: m.group(1) + _mask_ws_query(m.group(2)), text)
    text = _QUERY_CREDENTIAL.sub(lambda m: m.group(1) + MASK, text)
    text = _HEADER.sub(lambda m: m.group(1) + m.group(2) + (f"{m.group(3)} " if m.group(3) else "") + MASK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _TOKEN.sub(MASK, text)


def mask_url(url: str, redact: Callable[[str], str] | None = None) -> str:
    """A request target (``/path?query``) or URL as it may be logged: credentials masked
    (every query value of a websocket path), and, with ``redact``, personal data in the
    URL-decoded query values replaced (the query is then re-encoded)."""
    masked = mask_credentials(url)
    if redact is None or "?" not in masked:
        return masked
    head, _, query = masked.partition("?")
    query, hash_, fragment = query.partition("#")
    pairs = parse_qsl(query, keep_blank_values=True)
    changed = False
    out: list[tuple[str, str]] = []
    for name, value in pairs:
        clean = value if value == MASK else redact(value)
        changed = changed or clean != value
        out.append((name, clean))
    if not changed:
        return masked
    encoded = "&".join(f"{quote(n, safe='')}={quote(v, safe='*[] ')}".replace(" ", "+") for n, v in out)
    return f"{head}?{encoded}{hash_}{fragment}"


def _is_access(record: logging.LogRecord) -> bool:
    return record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5


class CredentialFilter(logging.Filter):
    """Masks credentials (and, given ``redact``, personal data in URLs) in every record,
    keeping ``record.args`` a tuple / mapping of the same shape. Never drops a record."""

    def __init__(self, redact: Callable[[str], str] | None = None) -> None:
        super().__init__("credentials")
        self.redact = redact

    def _clean(self, value: object, *, url: bool = False) -> object:
        if not isinstance(value, str):
            return value
        return mask_url(value, self.redact) if url else mask_credentials(value)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_credentials(record.msg)
        args = record.args
        if _is_access(record):
            assert isinstance(args, tuple)
            client, method, path, http, status = args
            record.args = (client, method, self._clean(path, url=True), http, status)
        elif isinstance(args, tuple):
            record.args = tuple(self._clean(a, url=isinstance(a, str) and a.startswith("/")) for a in args)
        elif isinstance(args, Mapping):
            record.args = {k: self._clean(v) for k, v in args.items()}
        if record.exc_text:
            record.exc_text = mask_credentials(record.exc_text)
        return True


def _logfmt(value: object) -> str:
    text = str(value)
    if text and not re.search(r'[\s"=\\]', text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AccessFormatter(logging.Formatter):
    """uvicorn's access record (client, method, path with query, HTTP version, status) as
    one logfmt line; any other record as ``ts level logger: message``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("use_colors", None)  # uvicorn passes it to the formatters it configures
        super().__init__(*args, **kwargs)
        self.converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        ts = self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z"
        if not _is_access(record):
            return f"ts={ts} level={record.levelname} logger={record.name} msg={_logfmt(record.getMessage())}"
        assert isinstance(record.args, tuple)
        client, method, full_path, http, status = record.args
        path, _, query = str(full_path).partition("?")
        fields = [
            ("ts", ts),
            ("level", record.levelname),
            ("event", "access"),
            ("client", client),
            ("method", method),
            ("path", path),
        ]
        if query:
            fields.append(("query", query))
        fields += [("status", status), ("http", http)]
        return " ".join(f"{name}={_logfmt(value)}" for name, value in fields)


def install_credential_masking(redact: Callable[[str], str] | None = None) -> CredentialFilter:
    """Attach one ``CredentialFilter`` to every handler of the root and uvicorn loggers
    (filters on handlers see propagated records; filters on loggers do not) and to those
    loggers themselves. Handlers that already carry one get ``redact`` set on it."""
    flt = CredentialFilter(redact)
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "switchboard", "fastapi"):
        logger = logging.getLogger(name)
        for target in (logger, *logger.handlers):
            existing = [f for f in target.filters if isinstance(f, CredentialFilter)]
            if existing:
                for f in existing:
                    f.redact = f.redact or redact
            else:
                target.addFilter(flt)
    return flt


def log_config(level: str = "INFO") -> dict[str, Any]:
    """The ``dictConfig`` for ``switchboard serve``: uvicorn's loggers and the root logger
    write to stderr (``ts level logger: message``) and the access log to stdout (logfmt),
    each handler behind a ``CredentialFilter``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"credentials": {"()": CredentialFilter}},
        "formatters": {
            "default": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "access": {"()": AccessFormatter},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["credentials"],
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "filters": ["credentials"],
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "": {"handlers": ["default"], "level": level},
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
        },
    }
