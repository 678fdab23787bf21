"""Bot latency on the demo questions: p50/p95 time to first streamed token and to the full answer.

Usage: ``python -m bench bot_latency [--n 20] [--data-dir DIR]``

The questions are the demo NLU examples of the knowledge intents (``bench.answer_latency.
demo_questions``), asked by an anonymous visitor (so they reach the KB, not the order
actions) within business hours. "first token" is when the first generated piece reaches
``on_token`` (what the widget shows first); "full answer" is when the bot turn returns
(grounding check and, when the draft is rejected, the extractive answer included). The
baseline of the same run is the extractive-only bot (model off): its full answer time.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.answer_latency import demo_questions
from bench.table import percentile, print_table, ratio

ROOT = Path(__file__).resolve().parent.parent
AT = datetime.fromisoformat("2026-11-18T12:00:00+01:00")  # Wednesday noon in Berlin: support is open


def _ask(bot: object, question: str) -> tuple[float | None, float, str]:
    from bot.errors import HandoffRequired
    from bot.state import BotMemory
    from core.types import Author, Turn

    start = time.perf_counter()
    first: list[float] = []

    def on_token(piece: str) -> None:
        if not first:
            first.append(time.perf_counter() - start)

    try:
        reply = bot.respond(  # type: ignore[attr-defined]
            "larkspur",
            [Turn(author=Author.customer, text=question)],
            customer_id=None,
            memory=BotMemory(),
            on_token=on_token,
            now=AT,
        )
        kind = f"{reply.kind}/{reply.mode}"
    except HandoffRequired as h:
        kind = f"handoff/{h.brief.reason.value}"
    return (first[0] if first else None), time.perf_counter() - start, kind


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench bot_latency")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--data-dir", type=Path, default=None, help="a folder where the demo is already loaded")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from core.models.fake import DownChatModel
    from core.settings import Settings
    from server.container import Services
    from server.demo import load_demo

    questions = demo_questions(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(environment="test", data_dir=args.data_dir or Path(tmp), demo_dir=ROOT / "demo")  # type: ignore[call-arg]
        services = Services(settings)
        if args.data_dir is None:
            load_demo(services)
        _ask(services.bot, "How long do I have to return an item?")  # warm-up: loads the models
        runs = [_ask(services.bot, q) for q in questions]
        base = Services(settings, chat_override=DownChatModel())
        base_runs = [_ask(base.bot, q) for q in questions]
        model = services.chat.describe()
        base.close()
        services.close()
    firsts = [f for f, _, _ in runs if f is not None]
    fulls = [t for _, t, _ in runs]
    base_full = [t for _, t, _ in base_runs]
    b50, b95 = percentile(base_full, 50), percentile(base_full, 95)
    rows: list[list[object]] = [
        ["extractive only (baseline): full answer", b50, b95, "1.0x"],
        [
            f"bot, first token ({len(firsts)}/{len(runs)} streamed)",
            percentile(firsts, 50) if firsts else 0.0,
            percentile(firsts, 95) if firsts else 0.0,
            ratio(percentile(firsts, 50), b50) if firsts else "-",
        ],
        ["bot, full answer", percentile(fulls, 50), percentile(fulls, 95), ratio(percentile(fulls, 50), b50)],
    ]
    print_table(
        ["path", "p50 s", "p95 s", "p50 ratio"],
        rows,
        title=f"Bot latency on {len(questions)} demo questions; model {model.get('backend')}",
    )
    kinds: dict[str, int] = {}
    for _, _, k in runs:
        kinds[k] = kinds.get(k, 0) + 1
    print(f"outcomes: {kinds}")
    return 0
