"""Loading ragas: lazily (``import ragas`` takes seconds, so never on a server start-up path),
with its usage telemetry switched off, and a clear message when the ``evals`` extra is missing.

Every module that imports ragas calls :func:`require_ragas` first.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from importlib import metadata
from typing import Any, TypeVar

from core.errors import ConfigurationError

T = TypeVar("T")

_lock = threading.Lock()
_loaded = False


def require_ragas() -> None:
    """Import ragas once, telemetry off; ConfigurationError (with the install command) if it is missing."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        # ragas posts usage events to its vendor unless told not to; evals run offline.
        os.environ["RAGAS_DO_NOT_TRACK"] = "true"
        try:
            import ragas  # noqa: F401
        except ImportError as exc:
            raise ConfigurationError(
                f"The answer metrics need ragas ({exc}); install the evals extra: pip install -e '.[evals]'"
            ) from exc
        _loaded = True


def ragas_version() -> str:
    """The installed ragas version, read from the package metadata (no import)."""
    try:
        return metadata.version("ragas")
    except metadata.PackageNotFoundError:
        return "not installed"


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run one of ragas' async non-LLM metrics from synchronous code (the runner's worker threads).

    These coroutines do no I/O, so a fresh event loop per call is cheap (well under a millisecond)."""
    return asyncio.run(coro)
