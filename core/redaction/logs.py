"""Defence in depth for logs: a ``logging.Filter`` that redacts every record's message
and arguments, installed on the root logger and the uvicorn loggers.

The filter keeps each record's shape: a record with arguments keeps them (each string
argument redacted on its own), because formatters may read ``record.args`` directly —
uvicorn's ``AccessFormatter`` unpacks them into client, method, path, HTTP version and
status, and a filter that formats the message and drops the arguments turns every access
line into a ``--- Logging error ---`` traceback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

_LOGGERS = ("", "switchboard", "uvicorn", "uvicorn.error", "uvicorn.access", "fastapi")


class RedactingFilter(logging.Filter):
    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__("redaction")
        self._redact = redact
        self._busy = threading.local()

    def _value(self, value: object) -> object:
        return self._redact(value) if isinstance(value, str) and value else value

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(self._busy, "on", False):
            return False  # a record logged by the redactor itself (e.g. a detector's debug line)
        self._busy.on = True
        try:
            args = record.args
            if isinstance(args, tuple) and args:
                record.args = tuple(self._value(a) for a in args)
                if isinstance(record.msg, str):
                    msg = self._redact(record.msg)
                    # a placeholder never contains "%", so this only fails if redaction ate one
                    record.msg = msg if msg.count("%") == record.msg.count("%") else record.msg
            elif isinstance(args, Mapping) and args:
                record.args = {k: self._value(v) for k, v in args.items()}
            else:
                try:
                    message = record.getMessage()
                except (TypeError, ValueError):
                    message = str(record.msg)
                record.msg = self._redact(message)
                record.args = None
            if record.exc_text:
                record.exc_text = self._redact(record.exc_text)
        finally:
            self._busy.on = False
        return True


def install_log_redaction(redact: Callable[[str], str]) -> RedactingFilter:
    """Attach one filter to the root logger, our loggers and uvicorn's, and to every
    handler already on the root logger (filters on loggers do not see propagated records)."""
    flt = RedactingFilter(redact)
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(flt)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt
