"""CPU per customer turn (ConversationService, MiniLM, demo tenant): this tree against a baseline commit.

    python -m bench turn_cpu                          # baseline: BASELINE (before the turn-path work of issue 16)
    python -m bench turn_cpu --baseline HEAD~3 --conversations 6 --messages 10 --rounds 2

The demo is loaded once into a data dir (by this tree). Each tree — the baseline, exported
with ``git archive`` into a temporary folder, and this working tree — runs in a fresh
process of its own, alternately, ``--rounds`` times, so both see the same machine load.
A process answers ``conversations x messages`` turns of the demo questions (signed-in demo
customers, as ``bench load`` asks them) twice:

- ``cold``: the process's first turns (nothing computed in this process yet, as after a
  restart or on a new worker);
- ``warm``: the same questions again in new conversations.

Columns: process CPU per turn (every thread: what the cores pay), the turn thread's own
CPU (the Python part, which holds the GIL, plus native calls made from it; embedding runs
on its own thread), wall time per turn, and the ratio of process CPU to the baseline's.
A server's closed-loop latency at N concurrent conversations is about N x CPU per turn /
usable cores (``bench load`` prints that floor).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "1a8fa95"  # main before the turn-path work of issue 16 (redaction kinds, Chroma count, unit vectors)


def _worker(data_dir: Path, conversations: int, messages: int) -> dict[str, float]:
    """Runs inside the tree under test (its modules first on ``sys.path``)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from bench.answer_latency import demo_questions
    from core.settings import Settings
    from core.types import Author, Turn
    from server.auth import Principal, Role
    from server.container import Services
    from server.service import ConversationService

    settings = Settings(  # type: ignore[call-arg]
        environment="test",
        data_dir=data_dir,
        demo_dir=ROOT / "demo",
        messages_per_minute_per_session=1_000_000,
        messages_per_minute_per_tenant=1_000_000,
    )
    services = Services(settings)
    service = ConversationService(services)
    n_questions = min(60, conversations * messages)
    questions = demo_questions(n_questions)

    def conversation(i: int) -> None:
        principal = Principal(Role.customer, "larkspur", f"cus_{i % 24 + 1:03d}", visitor_id=f"bench-{i}")
        conv = service.start(principal)
        for j in range(messages):
            service.post_customer_message(principal, conv.id, questions[(i * messages + j) % n_questions])

    # Load the models (MiniLM, the intent classifier, the keyword index) without composing an
    # answer: the cold pass then starts with no answer unit computed in this process.
    probe = Principal(Role.customer, "larkspur", "cus_001", visitor_id="bench-probe")
    service.post_customer_message(probe, service.start(probe).id, "hello")
    services.context.context("larkspur", [Turn(author=Author.customer, text="opening hours")], customer_id=None)
    services.redactor("warm-up: +44 20 7946 0958")  # PII recognizers built, as the server's start-up does
    out: dict[str, float] = {}
    for phase, offset in (("cold", 0), ("warm", conversations)):
        cpu, thread, wall = time.process_time(), time.thread_time(), time.perf_counter()
        for i in range(conversations):
            conversation(offset + i)
        turns = conversations * messages
        out[f"{phase}_cpu_ms"] = 1000 * (time.process_time() - cpu) / turns
        out[f"{phase}_thread_ms"] = 1000 * (time.thread_time() - thread) / turns
        out[f"{phase}_wall_ms"] = 1000 * (time.perf_counter() - wall) / turns
    services.close()
    return out


def _run_tree(tree: Path, data_dir: Path, conversations: int, messages: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); "
        f"from importlib.machinery import SourceFileLoader; m = SourceFileLoader('turn_cpu', {str(Path(__file__))!r})"
        ".load_module(); print('RESULT ' + json.dumps(m._worker(__import__('pathlib').Path(sys.argv[2]), "
        "int(sys.argv[3]), int(sys.argv[4]))))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tree), str(data_dir), str(conversations), str(messages)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise RuntimeError(f"worker in {tree} failed:\n{proc.stderr[-3000:]}")


def main(argv: list[str]) -> int:
    from bench._server import demo_load, env_for, load_average
    from bench.table import print_table

    ap = argparse.ArgumentParser(prog="python -m bench turn_cpu", description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default=BASELINE, help=f"git revision to compare with (default {BASELINE})")
    ap.add_argument("--conversations", type=int, default=6)
    ap.add_argument("--messages", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2, help="fresh processes per tree, alternating")
    ap.add_argument("--data-dir", type=Path, default=None, help="a data dir to load the demo into (reused)")
    args = ap.parse_args(argv)
    rev = subprocess.run(
        ["git", "rev-parse", "--short", args.baseline], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="sb-turn-cpu-") as tmp:
        base_tree = Path(tmp) / "baseline"
        base_tree.mkdir()
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base_tree)], input=archive, check=True)
        data_dir = args.data_dir or Path(tmp) / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        setup_s = demo_load(env_for(data_dir))
        results: dict[str, list[dict[str, float]]] = {"baseline": [], "this tree": []}
        for r in range(args.rounds):
            for name, tree in (("baseline", base_tree), ("this tree", ROOT)):
                results[name].append(_run_tree(tree, data_dir, args.conversations, args.messages))
                print(f"round {r + 1}/{args.rounds}: {name} done", file=sys.stderr)

    def mean(name: str, key: str) -> float:
        return statistics.mean(x[key] for x in results[name])

    rows: list[list[object]] = []
    for phase in ("cold", "warm"):
        base_cpu = mean("baseline", f"{phase}_cpu_ms")
        for name in ("baseline", "this tree"):
            cpu = mean(name, f"{phase}_cpu_ms")
            rows.append([
                phase,
                f"{name} ({rev if name == 'baseline' else head + ' + working tree'})",
                f"{cpu:.1f}",
                f"{mean(name, f'{phase}_thread_ms'):.1f}",
                f"{mean(name, f'{phase}_wall_ms'):.1f}",
                f"{cpu / base_cpu:.2f}x",
            ])
    turns = args.conversations * args.messages
    print(f"demo load {setup_s:.0f}s; {args.rounds} fresh processes per tree, {turns} turns per pass; "
          f"load average {load_average()}; cpus {os.cpu_count()}")
    print_table(
        ["pass", "tree", "process CPU ms/turn", "turn thread CPU ms/turn", "wall ms/turn", "CPU vs baseline"],
        rows,
        title="CPU per customer turn (ConversationService, MiniLM, demo questions)",
    )
    return 0
