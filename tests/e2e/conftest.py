"""The real server for end-to-end tests: ``switchboard demo load`` into a temp data dir, then
``uvicorn server.asgi:app`` on a free port with the real bundled models (llama.cpp + MiniLM).

``live_server`` (session-scoped) yields the base URL. When a test that used it fails, the tail
of the server log is attached to the failure report. Set ``SWITCHBOARD_E2E_BASE_URL`` to run the
tests against a server you started yourself (with the demo loaded) instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import finish_demo_load, running_server, server_env, start_demo_load, tail

SERVER_LOG = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[str]:
    external = os.environ.get("SWITCHBOARD_E2E_BASE_URL")
    if external:
        yield external.rstrip("/")
        return
    data_dir = tmp_path_factory.mktemp("live")
    log_path = data_dir / "server.log"
    pytestconfig.stash[SERVER_LOG] = log_path
    env = server_env(data_dir)
    # The demo is loaded before the server starts: the embedded vector index (Chroma) is one
    # process's at a time, and the server reads it at start-up (answer-unit vectors).
    loader = start_demo_load(env)
    try:
        finish_demo_load(loader)
        with running_server(env, log_path) as base_url:
            yield base_url
    finally:
        if loader.poll() is None:
            loader.kill()
            loader.wait()


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    """pytest-playwright's ``base_url``: pages can ``goto("/")``."""
    return live_server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    log_path = item.config.stash.get(SERVER_LOG, None)
    if report.failed and log_path is not None and "live_server" in getattr(item, "fixturenames", ()):
        report.sections.append(("live server log (tail)", tail(log_path)))
