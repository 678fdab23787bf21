"""Defence in depth for logs: a ``logging.Filter`` that redacts every record's message
and arguments, installed on the root logger and the uvicorn loggers. (Uvicorn's access
log prints the request line, never bodies; the filter still covers query strings.)"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

_LOGGERS = ("", "switchboard", "uvicorn", "uvicorn.error", "uvicorn.access", "fastapi")


class RedactingFilter(logging.Filter):
    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__("redaction")
        self._redact = redact
        self._busy = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(self._busy, "on", False):
            return False  # a record logged by the redactor itself (e.g. a detector's debug line)
        self._busy.on = True
        try:
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
