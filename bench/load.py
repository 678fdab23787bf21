"""Load: N concurrent widget conversations x M messages against real server processes.

    python -m bench load                               # embedded default: one process, SQLite, memory bus
    python -m bench load --mode scaleout               # two workers on PostgreSQL + Redis
    python -m bench load --mode scaleout --routing alternate   # see Router
    python -m bench load --conversations 50 --messages 4 --max-seconds 120
    python -m bench load --questions unique             # every conversation its own questions

Every conversation asks the demo's questions (``bench/answer_latency.py: demo_questions``)
one after the other, as a widget does: each message carries a client message id
(``Idempotency-Key``) and is retried with it after a connection error, a 429 or a 503
(honouring ``Retry-After``). Meanwhile a prober reads ``/healthz`` every 0.1 s. Afterwards
the stored transcripts are read back through the agent API and checked: acknowledged
messages lost, messages stored twice, sequence numbers out of the order sent or repeated,
and stored customer messages left without a reply. In scale-out mode the requests are spread
over the workers as a load balancer would (``--routing``, default least connections: ``Router``),
so a conversation's messages land on either worker, each worker reading what the other wrote.

The per-tenant message rate (600/min by default, docs/trust.md) is raised for the run: it is
an operator's setting sized to capacity, and the point here is what one process can serve.
The baseline is the same server's health check (no work) measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import ssl
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench._server import (
    PrivateRedis,
    Worker,
    demo_load,
    env_for,
    load_average,
    postgres_database,
    workers,
)
from bench.answer_latency import demo_questions
from bench.table import percentile, render

AGENT = {"X-API-Key": "dev-agent-key"}
CUSTOMERS = [f"cus_{i:03d}" for i in range(1, 25)]
RETRIES = 6
# One TLS context for every simulated widget (the URLs are plain HTTP): a client of its own
# loads the CA bundle again, ~20 ms each, and 200 of them stalled the prober for 4.5 s.
_TLS = ssl.create_default_context()


@dataclass
class Sent:
    conversation: str
    key: str
    order: int
    first_status: int | str = ""
    final_status: int | str = ""
    message_id: str = ""
    seq: int = 0
    latency_s: float = 0.0
    sent_at_s: float = 0.0  # since the run started
    replied: bool = False
    worker: int = 0  # which of the workers got it (``Router``)


@dataclass
class Run:
    sent: list[Sent] = field(default_factory=list)
    health_s: list[float] = field(default_factory=list)
    health_errors: int = 0
    started_at: float = field(default_factory=time.perf_counter)
    started_convs: int = 0
    failed_starts: Counter[str] = field(default_factory=Counter)  # status or error -> conversations
    crashed: Counter[str] = field(default_factory=Counter)  # the client's own exceptions -> conversations
    wall_s: float = 0.0
    client_cpu_s: float = 0.0  # this process (the simulated widgets and the prober) during the run
    unique: bool = False  # every conversation asks its own sequence of questions (question_order)


async def _send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    deadline: float,
    body: dict[str, Any] | None = None,
) -> tuple[int | str, dict[str, Any], int | str]:
    """A request with the widget's retries (a connection error, 429, 503 or another 5xx; the
    same headers, so the same Idempotency-Key; ``Retry-After`` honoured); returns (first
    status, response body — ``{}`` when it never succeeded —, final status)."""
    first: int | str = ""
    wait = 0.5
    for _ in range(RETRIES):
        try:
            r = await client.request(method, url, json=body, headers=headers)
            status: int | str = r.status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
            r = None
        first = first or status
        if r is not None and r.status_code < 300:
            return first, r.json(), status
        if r is not None and r.status_code not in (429, 503) and r.status_code < 500:
            return first, {}, status
        retry_after = float(r.headers.get("Retry-After", wait)) if r is not None else wait
        if time.monotonic() + retry_after > deadline:
            return first, {}, status
        await asyncio.sleep(retry_after)
        wait = min(wait * 2, 8)
    return first, {}, status


async def _start(
    client: httpx.AsyncClient, router: Router, i: int, customer: str, deadline: float
) -> tuple[dict[str, str], str] | str:
    """A widget session and a new conversation, each retried like a message (``_send``);
    the final status or error name of the step that never succeeded."""
    path = f"/api/demo/session?customer_id={customer}"
    _, session, final = await router.send(router.pick(i, -2), client, "GET", path, {}, deadline)
    if not session:
        return str(final)
    headers = {"Authorization": f"Bearer {session['token']}"}
    _, conv, final = await router.send(router.pick(i, -1), client, "POST", "/api/conversations", headers, deadline, {})
    if not conv:
        return str(final)
    return headers, str(conv["id"])


ROUTINGS = ("least-connections", "round-robin", "alternate")


class Router:
    """Which worker gets each request, as the load balancer in front of the workers decides:

    - ``least-connections`` (default): the worker with the fewest requests in flight, ties in
      turn (nginx ``least_conn``, HAProxy ``leastconn``: what docs/operations.md recommends
      for requests that take a while);
    - ``round-robin``: one counter over every request (nginx's default);
    - ``alternate``: conversation i's message j goes to worker (i + j) mod n — every message
      on another worker than the one before it, the conversations cycling through the
      workers in step (a closed cyclic queue). A worker that falls behind keeps the
      conversations waiting on it and is sent no fewer: measured with the second worker
      cold (not warmed before the run), 1.1 / 2.2 s at one worker and 4.5 / 6.1 s at the
      other; with both warm the two stay level (docs/operations.md, "Reliability").

    With one worker every policy is the same. Not thread-safe: the simulated widgets run on
    one event loop."""

    def __init__(self, urls: list[str], policy: str = ROUTINGS[0]) -> None:
        if policy not in ROUTINGS:
            raise ValueError(f"routing must be one of {', '.join(ROUTINGS)}, not {policy!r}")
        self.urls = urls
        self.policy = policy
        self.in_flight = [0] * len(urls)
        self._next = 0

    def pick(self, conversation: int, message: int) -> int:
        n = len(self.urls)
        if self.policy == "alternate":
            return (conversation + message) % n
        start = self._next
        self._next = (self._next + 1) % n
        if self.policy == "round-robin":
            return start
        # min() keeps the first of equals: ties go to the workers in turn
        return min(((start + k) % n for k in range(n)), key=lambda w: self.in_flight[w])

    async def send(
        self, worker: int, client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str],
        deadline: float, body: dict[str, Any] | None = None,
    ) -> tuple[int | str, dict[str, Any], int | str]:
        """``_send`` to ``worker`` (its retries too), counted in flight meanwhile."""
        self.in_flight[worker] += 1
        try:
            return await _send(client, method, f"{self.urls[worker]}{path}", headers, deadline, body)
        finally:
            self.in_flight[worker] -= 1


async def _conversation(router: Router, i: int, questions: list[str], m: int, run: Run, deadline: float) -> None:
    # Each conversation has its own client and connections, as each widget has its own
    # browser: one pool shared by 200 conversations spent 70 % of the client's CPU in
    # httpcore's assignment of requests to connections (a scan of every connection per
    # request, py-spy), and the client, not the server, set the pace of the first seconds.
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(120, connect=10), limits=httpx.Limits(max_connections=len(router.urls) + 1), verify=_TLS
    ) as client:
        await _converse(client, router, i, questions, m, run, deadline)


async def _converse(
    client: httpx.AsyncClient, router: Router, i: int, questions: list[str], m: int, run: Run, deadline: float
) -> None:
    started = await _start(client, router, i, CUSTOMERS[i % len(CUSTOMERS)], deadline)
    if isinstance(started, str):
        run.failed_starts[started] += 1
        return
    headers, conv = started
    run.started_convs += 1
    order = question_order(i, m, len(questions), run.unique)
    for j in range(m):
        if time.monotonic() > deadline:
            return
        sent = Sent(conversation=conv, key=f"load-{i}-{j}-{random.getrandbits(32):08x}", order=j)
        run.sent.append(sent)
        worker = router.pick(i, j)
        start = time.perf_counter()
        sent.sent_at_s = start - run.started_at
        first, body, final = await router.send(
            worker,
            client,
            "POST",
            f"/api/conversations/{conv}/messages",
            {**headers, "Idempotency-Key": sent.key},
            deadline,
            {"text": questions[order[j]]},
        )
        sent.worker = worker
        sent.latency_s = time.perf_counter() - start
        sent.first_status, sent.final_status = first, final
        if body:
            sent.message_id, sent.seq = body["message"]["id"], body["message"]["seq"]
            sent.replied = bool(body["replies"])


def question_order(i: int, m: int, n: int, unique: bool) -> list[int]:
    """Indices (into the ``n`` demo questions) of conversation ``i``'s ``m`` messages.

    Shared (the default, the issue's measure): conversation i asks from offset ``i * m`` on, so
    with 60 questions and 10 messages the conversations follow 6 sequences, in step, and their
    conversation-aware queries repeat (each embedded once). Unique: each conversation asks a
    sample of its own (seeded by ``i``), as real traffic does, so nearly every conversation-aware
    query is a text the embedder has not seen."""
    if unique:
        rng = random.Random(i)
        return rng.sample(range(n), m) if m <= n else rng.choices(range(n), k=m)
    return [(i * m + j) % n for j in range(m)]


async def _health(urls: list[str], run: Run, stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        while not stop.is_set():
            for url in urls:
                start = time.perf_counter()
                try:
                    r = await client.get(f"{url}/healthz")
                    r.raise_for_status()
                    run.health_s.append(time.perf_counter() - start)
                except httpx.HTTPError:
                    run.health_errors += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)


async def drive(
    urls: list[str],
    n: int,
    m: int,
    max_seconds: float,
    run: Run | None = None,
    routing: str = ROUTINGS[0],
    unique: bool = False,
) -> Run:
    """Run the conversations; ``run`` (optional) is filled in as they go, for a watcher;
    ``routing``: how requests are spread over ``urls`` (``Router``); ``unique``: each
    conversation asks its own sequence of questions (``question_order``)."""
    router = Router(urls, routing)
    questions = demo_questions(60)
    run = run if run is not None else Run()
    run.unique = unique
    deadline = time.monotonic() + max_seconds
    stop = asyncio.Event()
    prober = asyncio.create_task(_health(urls, run, stop))
    start = run.started_at = time.perf_counter()
    cpu = time.process_time()
    results = await asyncio.gather(
        *(_conversation(router, i, questions, m, run, deadline) for i in range(n)), return_exceptions=True
    )
    run.crashed += Counter(type(r).__name__ for r in results if isinstance(r, BaseException))
    run.wall_s = time.perf_counter() - start
    run.client_cpu_s = time.process_time() - cpu
    stop.set()
    await prober
    return run


@dataclass
class Check:
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    unanswered: int = 0


def verify(url: str, run: Run, settle_s: float = 0.0) -> Check:
    """Read every conversation back through the agent API."""
    if settle_s:
        time.sleep(settle_s)
    check = Check()
    by_conv: dict[str, list[Sent]] = {}
    for s in run.sent:
        by_conv.setdefault(s.conversation, []).append(s)
    with httpx.Client(timeout=30, headers=AGENT) as client:
        for conv, sent in by_conv.items():
            data = client.get(f"{url}/api/agent/conversations/{conv}").json()
            messages = data["messages"]
            seqs = [m["seq"] for m in messages]
            if len(set(seqs)) != len(seqs) or seqs != sorted(seqs):
                check.out_of_order += 1
            customer = [m for m in messages if m["author"] == "customer"]
            check.stored += len(customer)
            ids = Counter(m["id"] for m in customer)
            acked = [s for s in sent if s.message_id]
            check.lost += sum(1 for s in acked if ids[s.message_id] == 0)
            check.duplicated += max(0, len(customer) - len(sent))
            order = [s.seq for s in sorted(acked, key=lambda s: s.order)]
            if order != sorted(order):
                check.out_of_order += 1
            # A stored customer message is answered when a later non-customer message exists
            # (a reply, a handoff notice, an agent) or the conversation is not the bot's.
            if data["state"] == "bot" and messages and messages[-1]["author"] == "customer":
                check.unanswered += 1
    return check


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/PID/stat``), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(
    mode: str, n: int, m: int, run: Run, check: Check, setup: str, command: str, server_cpu_s: float = 0.0
) -> str:
    first = Counter(str(s.first_status) for s in run.sent)
    final = Counter(str(s.final_status) for s in run.sent)
    acked = [s for s in run.sent if s.message_id]
    latencies = [s.latency_s for s in acked]
    no_429 = sum(1 for s in run.sent if s.first_status in (200, 202) and s.replied)
    handled = sum(1 for s in run.sent if s.first_status in (200, 202))
    five = sum(v for k, v in final.items() if k.startswith("5"))
    rows = [
        ["conversations x messages", f"{n} x {m}"],
        ["questions (--questions)", "unique: each conversation its own" if run.unique else "shared: from offset i x M"],
        ["conversations that could not start (session or create failed after retries)",
         ", ".join(f"{k}: {v}" for k, v in sorted(run.failed_starts.items())) or "0"],
        ["conversations ended by an exception in the client",
         ", ".join(f"{k}: {v}" for k, v in sorted(run.crashed.items())) or "0"],
        ["messages sent", len(run.sent)],
        ["handled at the first try, no 429 (2xx)", f"{handled} ({100 * handled / max(1, len(run.sent)):.1f} %)"],
        ["  of which with a bot reply (else: handed off, a human's)", no_429],
        ["first-try statuses", ", ".join(f"{k}: {v}" for k, v in sorted(first.items()))],
        ["final statuses (after retries)", ", ".join(f"{k}: {v}" for k, v in sorted(final.items()))],
        ["429 at the first try", first.get("429", 0)],
        ["5xx (final)", five],
        ["turn latency p50 / p95 / max s", _pcts(latencies)],
        ["turn latency p50 / p95 s of messages sent in each fifth of the run", _by_fifth(acked, run.wall_s)],
        ["turn latency p50 / p95 s by worker (messages)", _by_worker(acked)],
        ["throughput (acknowledged / s)", f"{len(acked) / max(run.wall_s, 1e-9):.1f}"],
        ["health check p50 / p95 / max s (baseline)", _pcts(run.health_s) + f"  ({len(run.health_s)} probes, "
         f"{run.health_errors} failed)"],
        ["p95 turn / p95 health", f"{percentile(latencies, 95) / max(percentile(run.health_s, 95), 1e-9):.0f}x"
         if latencies and run.health_s else "-"],
        ["stored customer messages", check.stored],
        ["acknowledged but lost", check.lost],
        ["stored twice", check.duplicated],
        ["conversations out of order", check.out_of_order],
        ["stored, left without a reply", check.unanswered],
        ["wall time s", f"{run.wall_s:.1f}"],
        ["client CPU s / cores (the load generator: if near 1, it sets the pace)",
         f"{run.client_cpu_s:.1f} / {run.client_cpu_s / max(run.wall_s, 1e-9):.2f}"],
    ]
    if server_cpu_s and acked:
        per_turn = server_cpu_s / len(acked)
        used = server_cpu_s / max(run.wall_s, 1e-9)
        rows += [
            ["server CPU s (all workers) / per acknowledged turn", f"{server_cpu_s:.1f} / {per_turn:.3f}"],
            [f"cores the server used (of {os.cpu_count()})", f"{used:.2f}"],
            # Little's law for a closed loop: n conversations each waiting for its turn, so the
            # mean turn takes n / throughput = n x CPU per turn / cores used. Python runs one
            # thread of a process at a time: one process uses about one core.
            [f"mean turn implied: {n} waiting x CPU/turn / cores used, s",
             f"{n * per_turn / max(used, 1e-9):.2f} (measured mean {_mean(latencies):.2f})"],
        ]
    head = f"{setup}\nload average {load_average()}; command: {command}"
    return head + "\n\n" + render(["measure", "value"], rows, title=f"Load ({mode})")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _by_fifth(acked: list[Sent], wall_s: float) -> str:
    fifths: list[list[float]] = [[] for _ in range(5)]
    for s in acked:
        fifths[min(4, int(5 * s.sent_at_s / max(wall_s, 1e-9)))].append(s.latency_s)
    return " | ".join(_p50_p95(f) for f in fifths)


def _by_worker(acked: list[Sent]) -> str:
    workers = sorted({s.worker for s in acked})
    return " | ".join(
        f"{w}: {_p50_p95(lat)} ({len(lat)})" for w in workers for lat in [[s.latency_s for s in acked if s.worker == w]]
    )


def _p50_p95(values: list[float]) -> str:
    return f"{percentile(values, 50):.1f} / {percentile(values, 95):.1f}" if values else "-"


def _pcts(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{percentile(values, 50):.3f} / {percentile(values, 95):.3f} / {max(values):.3f}"


@contextmanager
def _deployment(mode: str, data_dir: Path, log_dir: Path, extra: dict[str, str]) -> Iterator[tuple[list[Worker], str]]:
    base = {"messages_per_minute_per_tenant": "1000000", **extra}
    if mode == "embedded":
        env = env_for(data_dir, **base)
        seconds = demo_load(env)
        with workers([env], log_dir) as ws:
            yield ws, f"setup: demo load {seconds:.0f}s into {data_dir}; one process, SQLite, in-process bus"
        return
    with postgres_database() as database_url, PrivateRedis() as redis:
        shared = {**base, "database_url": database_url, "event_bus_backend": "redis", "redis_url": redis.url}
        env = env_for(data_dir, **shared)
        seconds = demo_load(env)
        with workers([env, env], log_dir) as ws:
            yield ws, (
                f"setup: demo load {seconds:.0f}s; two worker processes, PostgreSQL (fresh database), "
                f"Redis (private, port {redis.port}), one data dir (Chroma) read by both"
            )


def warm_up(url: str) -> float:
    start = time.perf_counter()
    with httpx.Client(base_url=url, timeout=300) as c:
        token = c.get("/api/demo/session", params={"customer_id": "cus_001"}).json()["token"]
        h = {"Authorization": f"Bearer {token}"}
        conv = c.post("/api/conversations", json={}, headers=h).json()["id"]
        c.post(f"/api/conversations/{conv}/messages", json={"text": "How long do I have to return an item?"}, headers=h)
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench load", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["embedded", "scaleout"], default="embedded")
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--max-seconds", type=float, default=240.0, help="stop sending after this long")
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a data dir (the demo loads once)")
    parser.add_argument("--routing", choices=ROUTINGS, default=ROUTINGS[0],
                        help="how requests are spread over the workers (the load balancer's policy; see Router)")
    parser.add_argument("--questions", choices=["shared", "unique"], default="shared",
                        help="shared: the conversations follow 6 sequences of the demo's questions, in step "
                             "(the default, the issue's measure); unique: each its own, as real traffic")
    parser.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE",
                        help="extra server setting, e.g. --set chat_backend=fake")
    args = parser.parse_args(argv)
    extra = dict(s.split("=", 1) for s in args.set)
    data_dir = args.data_dir or Path(tempfile.gettempdir()) / f"sb-bench-{args.mode}"
    data_dir.mkdir(parents=True, exist_ok=True)
    command = "python -m bench load " + " ".join(argv)
    with tempfile.TemporaryDirectory(prefix="sb-load-logs-") as logs, _deployment(
        args.mode, data_dir, Path(logs), extra
    ) as (ws, setup):
        warm = sum(warm_up(w.url) for w in ws)  # every worker, as a readiness check would before traffic
        pids = [w.proc.pid for w in ws if w.proc is not None]
        cpu0 = sum(cpu_seconds(p) for p in pids)
        run = asyncio.run(
            drive([w.url for w in ws], args.conversations, args.messages, args.max_seconds, routing=args.routing,
                  unique=args.questions == "unique")
        )
        cpu = sum(cpu_seconds(p) for p in pids) - cpu0
        check = verify(ws[0].url, run, settle_s=2.0)
        routing = f"; requests spread by {args.routing}" if len(ws) > 1 else ""
        print(report(args.mode, args.conversations, args.messages, run, check,
                     setup + routing + f"; warm-up {warm:.1f}s", command, server_cpu_s=cpu))
        rss = ", ".join(f"{w.port}: {_rss_mb(w)} MB" for w in ws)
        print(f"\nserver RSS after the run: {rss}")
    return 0


def _rss_mb(w: Worker) -> int:
    from bench._server import rss_kb

    return rss_kb(w.proc.pid) // 1024 if w.proc is not None else 0
