"""Real server processes for the reliability benchmarks (load, crash, faults): the demo loaded
into a data dir, ``uvicorn server.asgi:app`` workers on 127.0.0.1 only, an optional throw-away
PostgreSQL database and a private ``redis-server`` (so stopping it never disturbs anyone
else's Redis). Everything started here is stopped by the context managers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = os.environ.get("SWITCHBOARD_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
HOST = "127.0.0.1"  # benchmarks send traffic to this machine only


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def rss_kb(pid: int) -> int:
    """Resident set size of a process (VmRSS, kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def env_for(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(
        SWITCHBOARD_DATA_DIR=str(data_dir),
        SWITCHBOARD_DEMO_DIR=str(ROOT / "demo"),
        SWITCHBOARD_ENVIRONMENT="test",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    env.update({f"SWITCHBOARD_{k.upper()}": v for k, v in settings.items()})
    return env


def demo_load(env: dict[str, str], timeout_s: float = 900) -> float:
    """``switchboard demo load`` (incremental: a reused data dir embeds nothing again)."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from server.cli.main import main; main()", "demo", "load"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=timeout_s,
    )
    return time.perf_counter() - start


@dataclass
class Worker:
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    log: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            # No access log: uvicorn's access-log lines are PII-redacted on the event loop
            # (core/redaction/logs.py), which the health check would wait behind.
            [sys.executable, "-m", "uvicorn", "server.asgi:app", "--host", HOST, "--port", str(self.port),
             "--no-access-log"],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def wait_healthy(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server on {self.url} not healthy after {timeout_s}s")

    def kill(self) -> None:
        """kill -9: no shutdown hooks, no flush."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def workers(envs: list[dict[str, str]], log_dir: Path) -> Iterator[list[Worker]]:
    started = [Worker(env, log=log_dir / f"worker{i}.log") for i, env in enumerate(envs)]
    try:
        for w in started:
            w.start()
        for w in started:
            w.wait_healthy()
        yield started
    finally:
        for w in started:
            w.stop()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database ``sb_bench_<random>``, dropped afterwards; yields its SQLAlchemy URL."""
    import psycopg

    name = f"sb_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class PrivateRedis:
    """A ``redis-server`` of our own on a free port (no persistence), to stop and start."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sb-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex((HOST, self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
