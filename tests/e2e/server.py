"""Start a real Switchboard server process for tests: ``switchboard demo load`` and
``uvicorn server.asgi:app`` with settings from the environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import DEMO_DIR, ROOT

START_TIMEOUT_S = 120.0
LOG_TAIL_CHARS = 6000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The caller's environment minus any SWITCHBOARD_* setting (so a developer's own
    configuration cannot leak in), plus the test's settings (``database_url=…`` etc.)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(
        SWITCHBOARD_DATA_DIR=str(data_dir),
        SWITCHBOARD_DEMO_DIR=str(DEMO_DIR),
        SWITCHBOARD_ENVIRONMENT="test",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    env.update({f"SWITCHBOARD_{k.upper()}": v for k, v in settings.items()})
    return env


def tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no server log)"
    return text[-LOG_TAIL_CHARS:]


def start_demo_load(env: dict[str, str]) -> subprocess.Popen[str]:
    """``switchboard demo load`` in the background (it can run while the server imports)."""
    return subprocess.Popen(
        [sys.executable, "-c", "from server.cli.main import main; main()", "demo", "load"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_demo_load(proc: subprocess.Popen[str], timeout: float = 600) -> None:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    if proc.returncode != 0:
        pytest.fail(f"switchboard demo load failed ({proc.returncode}):\n{out}\n{err[-LOG_TAIL_CHARS:]}")


def load_demo(env: dict[str, str]) -> None:
    finish_demo_load(start_demo_load(env))


@contextmanager
def running_server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """uvicorn on a free port; yields the base URL once /healthz answers; stops it afterwards."""
    with running_servers([(env, log_path)]) as [base_url]:
        yield base_url


@contextmanager
def running_servers(specs: list[tuple[dict[str, str], Path]]) -> Iterator[list[str]]:
    """Several servers started at once (they import in parallel); yields their base URLs."""
    procs: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        for env, log_path in specs:
            port = free_port()
            with log_path.open("wb") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "server.asgi:app", "--host", "127.0.0.1", "--port", str(port)],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            procs.append((proc, f"http://127.0.0.1:{port}", log_path))
        deadline = time.monotonic() + START_TIMEOUT_S
        for proc, base_url, log_path in procs:
            wait_healthy(proc, base_url, log_path, deadline)
        yield [base_url for _, base_url, _ in procs]
    finally:
        for proc, _, _ in procs:
            proc.terminate()
        for proc, _, _ in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def wait_healthy(
    proc: subprocess.Popen[bytes], base_url: str, log_path: Path, deadline: float, path: str = "/healthz"
) -> None:
    """Return once ``base_url + path`` answers 200; fail with the server's log if it exits or
    the deadline passes."""
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode} before answering:\n{tail(log_path)}")
        try:
            if httpx.get(f"{base_url}{path}", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not answer {path} in time:\n{tail(log_path)}")
        time.sleep(0.25)
