"""Crash: kill -9 the server under load, restart it, and check that nothing acknowledged was
lost and nothing stored was left unanswered.

    python -m bench crash                       # embedded default (SQLite), 2 kills
    python -m bench crash --conversations 40 --messages 8 --kills 2

Clients behave like the widget: every message has a client message id (``Idempotency-Key``)
and is retried with it after a connection error (the server is down) with backoff. The
server is killed with SIGKILL a few seconds into the load, restarted on the same port and
data dir, and the load goes on. At the end the transcripts are read back: every message a
client got a 2xx for must be stored once, and every stored customer message must have a
reply or a handoff (the sweeper answers what the killed process left, at start-up).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path

from bench import load as load_bench
from bench._server import demo_load, env_for, load_average, workers
from bench.table import render


def _acked(result: dict[str, load_bench.Run], live: load_bench.Run) -> int:
    run = result.get("run", live)
    return sum(1 for s in run.sent if s.message_id)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench crash", description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--messages", type=int, default=8)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--first-kill-s", type=float, default=2.0, help="least seconds of load before the 1st kill")
    parser.add_argument("--max-seconds", type=float, default=200.0)
    parser.add_argument("--recover-s", type=float, default=300.0, help="wait this long for the sweeper at most")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path(tempfile.gettempdir()) / "sb-bench-crash"
    data_dir.mkdir(parents=True, exist_ok=True)
    extra = {"messages_per_minute_per_tenant": "1000000", **dict(s.split("=", 1) for s in args.set)}
    env = env_for(data_dir, **extra)
    seconds = demo_load(env)
    command = "python -m bench crash " + " ".join(argv)
    load_bench.RETRIES = 60  # a widget keeps retrying while the server restarts (backoff capped at 8 s)
    with tempfile.TemporaryDirectory(prefix="sb-crash-logs-") as logs, workers([env], Path(logs)) as [worker]:
        warm = load_bench.warm_up(worker.url)
        result: dict[str, load_bench.Run] = {}
        live = load_bench.Run()

        def drive() -> None:
            result["run"] = asyncio.run(
                load_bench.drive([worker.url], args.conversations, args.messages, args.max_seconds, run=live)
            )

        client = threading.Thread(target=drive)
        client.start()
        restarts: list[float] = []
        acked_at_kill: list[int] = []
        total = args.conversations * args.messages
        started = time.monotonic()
        for k in range(args.kills):
            # Kills are spread over the load, whatever the server's speed: the k-th once the
            # server has acknowledged k/(kills+1) of the messages (more are in flight), and the
            # first not before --first-kill-s of load.
            target = total * (k + 1) // (args.kills + 1)
            while client.is_alive() and (
                _acked(result, live) < target or time.monotonic() - started < args.first_kill_s
            ):
                time.sleep(0.05)
            if not client.is_alive():
                break
            acked_at_kill.append(_acked(result, live))
            worker.kill()
            time.sleep(1.0)
            start = time.perf_counter()
            worker.start()
            worker.wait_healthy(timeout_s=600)
            restarts.append(time.perf_counter() - start)
        client.join()
        run = result["run"]
        # The start-up sweep answers what the killed process left: wait for it (bounded).
        recover_start = time.monotonic()
        check = load_bench.verify(worker.url, run)
        while check.unanswered and time.monotonic() - recover_start < args.recover_s:
            time.sleep(5.0)
            check = load_bench.verify(worker.url, run)
        recovered_s = time.monotonic() - recover_start
        acked = sum(1 for s in run.sent if s.message_id)
        rows = [
            ["conversations x messages", f"{args.conversations} x {args.messages}"],
            ["kill -9 (then restart)", len(restarts)],
            ["restart until healthy s", ", ".join(f"{r:.1f}" for r in restarts)],
            ["messages sent", len(run.sent)],
            ["acknowledged (2xx)", acked],
            ["not acknowledged (gave up)", len(run.sent) - acked],
            ["stored customer messages", check.stored],
            ["acknowledged but lost", check.lost],
            ["stored twice", check.duplicated],
            ["conversations out of order", check.out_of_order],
            ["stored, left without a reply after restart", check.unanswered],
            ["acknowledged before each kill", ", ".join(map(str, acked_at_kill))],
            ["seconds after the load until every stored message had a reply", f"{recovered_s:.0f}"],
        ]
        print(
            f"setup: demo load {seconds:.0f}s into {data_dir}; one process, SQLite; warm-up {warm:.1f}s\n"
            f"load average {load_average()}; command: {command}\n\n" + render(["measure", "value"], rows, title="Crash")
        )
    if len(restarts) < args.kills:
        print(f"only {len(restarts)} of {args.kills} kills happened: the load ended first (ask for more --messages)")
        return 1
    return 0
