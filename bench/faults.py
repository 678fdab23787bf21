"""Faults: a model that is down, slow, dripping or malformed; Redis down for 30 s; a locked
database; a 200 MB chunked body. Each against a real server process on 127.0.0.1.

    python -m bench faults                         # every scenario (a few minutes)
    python -m bench faults --only drip,redis       # some of them

- model (down / slow / drip / malformed): a local fake OpenAI-compatible server
  (``SWITCHBOARD_CHAT_BACKEND=openai``) that refuses connections, answers after 60 s, streams
  one token every 20 s, or sends text that is not JSON. Conversations ask the demo's
  questions concurrently; every turn must end within ``SWITCHBOARD_MODEL_TIMEOUT_S`` + 1 s
  with an answer, and none may fail.
- redis: one worker (or, ``--redis-workers 2``, two on PostgreSQL, each websocket on the
  worker its conversation's posts do not go to) on a private ``redis-server``; every
  conversation has an open websocket that reconnects (``?since=`` its last sequence number)
  as the widget does. Redis is killed for 30 s while messages are posted, then started
  again. Posts must not fail, and every websocket must end up with every message stored
  after the outage began.
- db-lock: another process holds SQLite's write lock for 10 s while messages are posted:
  503 with ``Retry-After`` (never 500), nothing half-written, and all go through after.
- body: a 200 MB ``Transfer-Encoding: chunked`` body without credentials: 413, and the
  server's resident memory grows by less than 20 MB.
The baseline of each model scenario is the same questions against a healthy fake model in
the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bench._server import (
    HOST,
    PrivateRedis,
    demo_load,
    env_for,
    free_port,
    load_average,
    postgres_database,
    rss_kb,
    workers,
)
from bench.answer_latency import demo_questions
from bench.load import warm_up
from bench.table import percentile, render

SCENARIOS = ("down", "slow", "drip", "malformed", "redis", "db-lock", "body")
DEADLINE_S = 5.0


# -- a fake OpenAI-compatible model server -------------------------------------------------------


def _model_handler(mode: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            stream = bool(body.get("stream"))
            try:
                if mode == "slow":
                    time.sleep(60)
                if mode == "malformed":
                    payload = b"data: {not json\n\n" if stream else b"<html>502 Bad Gateway</html>"
                    self._send(payload, "text/event-stream" if stream else "application/json")
                    return
                if mode == "healthy":
                    text = "You can return items within 30 days [1]."
                    if stream:
                        chunk = json.dumps({"choices": [{"delta": {"content": text}}]})
                        self._send(f"data: {chunk}\n\ndata: [DONE]\n\n".encode(), "text/event-stream")
                    else:
                        self._send(json.dumps({"choices": [{"message": {"content": text}}]}).encode(),
                                   "application/json")
                    return
                # drip: one token every 20 s, chunked, for as long as the client listens
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream" if stream else "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _ in range(30):
                    chunk = json.dumps({"choices": [{"delta": {"content": "drip "}}]})
                    data = f"data: {chunk}\n\n".encode() if stream else b" "
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                    time.sleep(20)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _send(self, payload: bytes, ctype: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def fake_model(mode: str) -> Iterator[str]:
    """A base URL for the openai backend: a server in ``mode``, or a closed port for 'down'."""
    if mode == "down":
        yield f"http://{HOST}:{free_port()}/v1"
        return
    server = ThreadingHTTPServer((HOST, 0), _model_handler(mode))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


# -- helpers ------------------------------------------------------------------------------


def _customer(client: httpx.Client, customer: str = "cus_001") -> dict[str, str]:
    token = client.get("/api/demo/session", params={"customer_id": customer}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


async def _turns(url: str, questions: list[str], conversations: int) -> list[tuple[float, int, bool]]:
    """Each conversation asks ``len(questions) // conversations`` questions in turn;
    returns (seconds, status, answered) per turn."""
    out: list[tuple[float, int, bool]] = []
    per = max(1, len(questions) // conversations)

    async def one(i: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as c:
            token = (await c.get("/api/demo/session", params={"customer_id": f"cus_{i % 20 + 1:03d}"})).json()["token"]
            h = {"Authorization": f"Bearer {token}"}
            conv = (await c.post("/api/conversations", json={}, headers=h)).json()["id"]
            for q in questions[i * per : (i + 1) * per]:
                start = time.perf_counter()
                r = await c.post(f"/api/conversations/{conv}/messages", json={"text": q}, headers=h)
                answered = r.status_code == 200 and bool(r.json().get("replies"))
                out.append((time.perf_counter() - start, r.status_code, answered))

    await asyncio.gather(*(one(i) for i in range(conversations)))
    return out


def model_scenario(mode: str, data_dir: Path, logs: Path) -> list[object]:
    with fake_model(mode) as base_url:
        env = env_for(
            data_dir,
            chat_backend="openai",
            openai_base_url=base_url,
            openai_api_style="chat",
            model_timeout_s=str(DEADLINE_S),
            messages_per_minute_per_tenant="100000",
        )
        with workers([env], logs) as [w]:
            warm_up(w.url)  # loads MiniLM: not part of any turn measured below
            results = asyncio.run(_turns(w.url, demo_questions(24), 8))
    times = [t for t, _, _ in results]
    statuses = sorted({s for _, s, _ in results})
    answered = sum(1 for _, _, a in results if a)
    within = sum(1 for t in times if t <= DEADLINE_S + 1)
    return [mode, len(results), answered, within, "/".join(map(str, statuses)), percentile(times, 50),
            percentile(times, 95), max(times)]


# -- Redis down 30 s ------------------------------------------------------------------------


class Socket:
    """A widget's websocket: reconnects with ``?since=`` its last sequence number."""

    def __init__(self, ws_url: str, conv: str, token: str) -> None:
        self.base = f"{ws_url}/ws/conversations/{conv}?token={token}"
        self.seen: dict[str, int] = {}
        self.last_seq = 0
        self.reconnects = 0
        self.closes: list[int] = []

    async def run(self, stop: asyncio.Event) -> None:
        import websockets

        delay = 0.5
        while not stop.is_set():
            try:
                async with websockets.connect(f"{self.base}&since={self.last_seq}", open_timeout=5) as ws:
                    delay = 0.5
                    while not stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.5)
                        except TimeoutError:
                            continue
                        event = json.loads(raw)
                        if event["type"] == "message":
                            self.seen[event["data"]["id"]] = event["data"]["seq"]
                            self.last_seq = max(self.last_seq, event["data"]["seq"])
            except websockets.ConnectionClosed as exc:
                self.closes.append(exc.rcvd.code if exc.rcvd else 1006)
            except (OSError, TimeoutError, websockets.InvalidHandshake):
                self.closes.append(0)
            if stop.is_set():
                return
            self.reconnects += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4)


def redis_scenario(
    data_dir: Path, logs: Path, outage_s: float = 30.0, n: int = 10, n_workers: int = 1
) -> list[list[object]]:
    """One worker on SQLite, or (``n_workers`` 2) two on PostgreSQL: a conversation's websocket
    is on one worker and its posts go to the other, so every event crosses Redis."""
    folder = data_dir / ("redis" if n_workers == 1 else f"redis-{n_workers}")
    folder.mkdir(parents=True, exist_ok=True)
    with PrivateRedis() as redis, contextlib.ExitStack() as stack:
        extra = {"database_url": stack.enter_context(postgres_database())} if n_workers > 1 else {}
        env = env_for(folder, event_bus_backend="redis", redis_url=redis.url, chat_backend="fake",
                      embedder_backend="fake", messages_per_minute_per_tenant="100000",
                      messages_per_minute_per_session="1000", **extra)
        demo_load(env)
        with workers([env] * n_workers, logs) as ws:
            return asyncio.run(_redis_run([w.url for w in ws], redis, outage_s, n))


async def _redis_run(urls: list[str], redis: PrivateRedis, outage_s: float, n: int) -> list[list[object]]:
    statuses: list[int | str] = []
    async with httpx.AsyncClient(base_url=urls[0], timeout=60) as c:
        convs: list[tuple[str, dict[str, str], str]] = []
        for i in range(n):
            token = (await c.get("/api/demo/session", params={"customer_id": f"cus_{i + 1:03d}"})).json()["token"]
            h = {"Authorization": f"Bearer {token}"}
            convs.append(((await c.post("/api/conversations", json={}, headers=h)).json()["id"], h, token))
        # Conversation i listens on worker i and posts to worker i + 1 (the same one when alone).
        listen = {conv: urls[i % len(urls)] for i, (conv, _, _) in enumerate(convs)}
        post_to = {conv: urls[(i + 1) % len(urls)] for i, (conv, _, _) in enumerate(convs)}
        sockets = [Socket(listen[conv].replace("http://", "ws://", 1), conv, token) for conv, _, token in convs]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(s.run(stop)) for s in sockets]
        await asyncio.sleep(2)

        async def post_all(text: str) -> None:
            async def one(conv: str, h: dict[str, str]) -> None:
                try:
                    r = await c.post(f"{post_to[conv]}/api/conversations/{conv}/messages", json={"text": text},
                                     headers=h)
                    statuses.append(r.status_code)
                except httpx.HTTPError as exc:
                    statuses.append(type(exc).__name__)

            await asyncio.gather(*(one(conv, h) for conv, h, _ in convs))

        await post_all("How long do I have to return an item?")
        agent = {"X-API-Key": "dev-agent-key"}
        before = {conv: len((await c.get(f"/api/agent/conversations/{conv}", headers=agent)).json()["messages"])
                  for conv, _, _ in convs}
        redis.stop()
        outage_start = time.monotonic()
        while time.monotonic() - outage_start < outage_s:
            await post_all("What does shipping cost?")
            await asyncio.sleep(3)
        redis.start()
        for text in ("Can I change my delivery address?", "Thanks!"):
            await post_all(text)
        await asyncio.sleep(12)  # reconnect (backoff up to 4 s) and replay
        stop.set()
        await asyncio.gather(*tasks)
        missing = 0
        later = 0
        for (conv, _, _), sock in zip(convs, sockets, strict=True):
            messages = (await c.get(f"/api/agent/conversations/{conv}", headers=agent)).json()["messages"]
            after = [m for m in messages[before[conv]:]]
            later += len(after)
            missing += sum(1 for m in after if m["id"] not in sock.seen)
    failed = sum(1 for s in statuses if not (isinstance(s, int) and s < 300))
    closes = sorted({code for s in sockets for code in s.closes})
    return [
        ["posts (during and after the outage)", len(statuses)],
        ["posts failed (not 2xx)", failed],
        ["statuses", ", ".join(f"{k}: {v}" for k, v in sorted(Counter(map(str, statuses)).items()))],
        ["open websockets", len(sockets)],
        ["messages stored after the outage began", later],
        ["of those, never received by their websocket", missing],
        ["websocket reconnects (all)", sum(s.reconnects for s in sockets)],
        ["close codes seen", ", ".join(map(str, closes))],
    ]


# -- a locked database ------------------------------------------------------------------------


def db_lock_scenario(data_dir: Path, logs: Path, hold_s: float = 10.0, n: int = 8) -> list[list[object]]:
    folder = data_dir / "dblock"
    folder.mkdir(parents=True, exist_ok=True)
    env = env_for(folder, chat_backend="fake", embedder_backend="fake", messages_per_minute_per_tenant="100000")
    demo_load(env)
    with workers([env], logs) as [w], httpx.Client(base_url=w.url, timeout=60) as c:
        convs = []
        for i in range(n):
            h = _customer(c, f"cus_{i + 1:03d}")
            convs.append((c.post("/api/conversations", json={}, headers=h).json()["id"], h))
        lock = sqlite3.connect(folder / "switchboard.db", timeout=5)
        lock.execute("BEGIN EXCLUSIVE")
        results: list[tuple[int, float, str | None]] = []

        def post(conv: str, h: dict[str, str]) -> None:
            start = time.perf_counter()
            r = c.post(f"/api/conversations/{conv}/messages", json={"text": "Where is my order?"}, headers=h)
            results.append((r.status_code, time.perf_counter() - start, r.headers.get("Retry-After")))

        threads = [threading.Thread(target=post, args=conv) for conv in convs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(max(0.0, hold_s - max(r[1] for r in results)))
        lock.rollback()
        lock.close()
        after = [c.post(f"/api/conversations/{conv}/messages", json={"text": "Where is my order?"},
                        headers={**h, "Idempotency-Key": f"after-{conv}"}).status_code for conv, h in convs]
        stored = [len(c.get(f"/api/conversations/{conv}", headers=h).json()["messages"]) for conv, h in convs]
    codes = [r[0] for r in results]
    return [
        ["posts while the lock was held", len(results)],
        ["statuses", ", ".join(f"{k}: {codes.count(k)}" for k in sorted(set(codes)))],
        ["503 with Retry-After", sum(1 for s, _, ra in results if s == 503 and ra)],
        ["500", codes.count(500)],
        ["seconds to the answer p50 / max", f"{percentile([r[1] for r in results], 50):.2f} / "
                                             f"{max(r[1] for r in results):.2f}"],
        ["posts after the lock was released: 2xx", sum(1 for s in after if s < 300)],
        ["messages per conversation after (customer + reply)", ", ".join(map(str, sorted(set(stored))))],
    ]


# -- a 200 MB chunked body ----------------------------------------------------------------------


def body_scenario(data_dir: Path, logs: Path, megabytes: int = 200) -> list[list[object]]:
    folder = data_dir / "body"
    folder.mkdir(parents=True, exist_ok=True)
    env = env_for(folder, chat_backend="fake", embedder_backend="fake")
    with workers([env], logs) as [w]:
        assert w.proc is not None
        time.sleep(2)
        before = rss_kb(w.proc.pid)
        peak = [before]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_kb(w.proc.pid))  # type: ignore[union-attr]
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        status, sent, seconds = _chunked_post(w.port, megabytes * 1024 * 1024)
        time.sleep(0.5)
        done.set()
        sampler.join()
        after = rss_kb(w.proc.pid)
    return [
        ["body offered (chunked, no credentials)", f"{megabytes} MB"],
        ["status", status],
        ["bytes the server let in before answering", f"{sent / 1024 / 1024:.1f} MB"],
        ["seconds to the answer", f"{seconds:.2f}"],
        ["server RSS before / peak / after MB", f"{before / 1024:.1f} / {peak[0] / 1024:.1f} / {after / 1024:.1f}"],
        ["RSS growth (peak - before) MB", f"{(peak[0] - before) / 1024:.1f}"],
    ]


def _chunked_post(port: int, total: int) -> tuple[str, int, float]:
    """Send a chunked body until the server answers (or all is sent); returns the status line,
    the bytes sent and the seconds until the answer."""
    chunk = b"x" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    start = time.perf_counter()
    sent = 0
    with socket.create_connection((HOST, port), timeout=30) as s:
        s.sendall(b"POST /api/conversations/x/messages HTTP/1.1\r\nHost: bench\r\n"
                  b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        s.setblocking(False)
        response = b""
        while sent < total:
            with contextlib.suppress(BlockingIOError):
                response += s.recv(65536)
            if b"\r\n" in response:
                break
            try:
                sent += s.send(frame)
            except BlockingIOError:
                time.sleep(0.001)
            except (BrokenPipeError, ConnectionResetError):
                break
        s.setblocking(True)
        s.settimeout(10)
        with contextlib.suppress(OSError):
            while b"\r\n" not in response:
                more = s.recv(65536)
                if not more:
                    break
                response += more
    return response.split(b"\r\n", 1)[0].decode(errors="replace"), sent, time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench faults", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated, of {', '.join(SCENARIOS)}")
    parser.add_argument("--data-dir", type=Path, default=None, help="an embedded data dir with the demo loaded")
    parser.add_argument("--redis-outage-s", type=float, default=30.0)
    parser.add_argument("--redis-workers", type=int, choices=[1, 2], default=1,
                        help="2: two workers on PostgreSQL, each websocket on the worker its posts do not go to")
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(wanted) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    data_dir = args.data_dir or Path(tempfile.gettempdir()) / "sb-bench-embedded"
    data_dir.mkdir(parents=True, exist_ok=True)
    command = "python -m bench faults " + " ".join(argv)
    print(f"load average {load_average()} at the start; command: {command}")
    with tempfile.TemporaryDirectory(prefix="sb-faults-logs-") as tmp:
        logs = Path(tmp)
        models = [m for m in ("down", "slow", "drip", "malformed") if m in wanted]
        if models:
            demo_load(env_for(data_dir))
            rows = [model_scenario("healthy", data_dir, logs)] + [model_scenario(m, data_dir, logs) for m in models]
            print(render(
                ["model", "turns", "answered", f"within {DEADLINE_S:.0f}+1 s", "statuses", "p50 s", "p95 s", "max s"],
                rows,
                title=f"Model faults (SWITCHBOARD_MODEL_TIMEOUT_S={DEADLINE_S:.0f}; baseline: a healthy fake model)",
            ))
        if "redis" in wanted:
            where = "one worker, SQLite" if args.redis_workers == 1 else f"{args.redis_workers} workers, PostgreSQL"
            rows = redis_scenario(data_dir, logs, args.redis_outage_s, n_workers=args.redis_workers)
            print(render(["measure", "value"], rows,
                         title=f"Redis down {args.redis_outage_s:.0f} s ({where}, Redis bus)"))
        if "db-lock" in wanted:
            print(render(["measure", "value"], db_lock_scenario(data_dir, logs), title="SQLite write lock held 10 s"))
        if "body" in wanted:
            print(render(["measure", "value"], body_scenario(data_dir, logs), title="200 MB chunked body"))
    print(f"load average {load_average()} at the end")
    return 0
