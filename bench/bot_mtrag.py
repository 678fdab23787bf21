"""Bot on MTRAG: answer rate (ANSWERABLE), abstain-or-handoff P/R (UNANSWERABLE), clarify rate (UNDERSPECIFIED).

Usage: ``python -m bench bot_mtrag [--per-label 30] [--seed 7] [--data-dir DIR] [--skip-baseline]``

Every unique inline passage of ``mtragun-human/generation_tasks/reference.jsonl`` is loaded
into a temporary KB, one tenant per collection (clapnq, govt, fiqa), through the real KB
pipeline (MiniLM). A seeded sample of ``--per-label`` tasks per answerability label
(ANSWERABLE, UNANSWERABLE, UNDERSPECIFIED; PARTIAL is left out) is replayed: the
conversation history goes in as turns and the bot takes the last user turn. The chat model
is whatever the settings choose (``SWITCHBOARD_CHAT_BACKEND``; the bundled llama.cpp
model by default, or an OpenAI-compatible server). The baseline of the same run is the
same bot with the model switched off (extractive answers only).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.table import percentile, print_table, ratio

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".." / "shared" / "data" / "mtrag"
LABELS = ("ANSWERABLE", "UNANSWERABLE", "UNDERSPECIFIED")


@dataclass
class Task:
    task_id: str
    collection: str
    label: str
    turns: list[tuple[str, str]]


def read(per_label: int, seed: int) -> tuple[dict[str, dict[str, str]], list[Task]]:
    corpus: dict[str, dict[str, str]] = defaultdict(dict)
    by_label: dict[str, list[Task]] = defaultdict(list)
    for line in (DATA / "mtragun-human" / "generation_tasks" / "reference.jsonl").read_text().splitlines():
        row = json.loads(line)
        collection = str(row["Collection"]).lower()
        for ctx in row["contexts"]:
            corpus[collection][ctx["document_id"]] = ctx["text"].strip()
        label = row["answerability"][0]
        if label in LABELS:
            turns = [(t["speaker"], t["text"]) for t in row["input"]]
            by_label[label].append(Task(row["task_id"], collection, label, turns))
    rng = random.Random(seed)
    tasks: list[Task] = []
    for label in LABELS:
        pool = sorted(by_label[label], key=lambda t: t.task_id)
        tasks += rng.sample(pool, min(per_label, len(pool)))
    return dict(corpus), tasks


def run(bot: object, tasks: list[Task]) -> list[tuple[Task, str, float]]:
    from bot.errors import HandoffRequired
    from bot.state import BotMemory
    from core.types import Author, Turn

    out: list[tuple[Task, str, float]] = []
    for task in tasks:
        turns = [Turn(author=Author.customer if s == "user" else Author.bot, text=x) for s, x in task.turns]
        start = time.perf_counter()
        try:
            reply = bot.respond(f"mtrag-{task.collection}", turns, customer_id=None, memory=BotMemory())  # type: ignore[attr-defined]
            kind = reply.kind
        except HandoffRequired:
            kind = "handoff"
        out.append((task, kind, time.perf_counter() - start))
    return out


def metrics(results: list[tuple[Task, str, float]]) -> dict[str, float]:
    def rate(label: str, kinds: set[str]) -> float:
        rows = [k for t, k, _ in results if t.label == label]
        return sum(k in kinds for k in rows) / len(rows) if rows else 0.0

    refuse = {"abstain", "handoff"}
    predicted = [t for t, k, _ in results if k in refuse]
    unanswerable = [t for t, _, _ in results if t.label == "UNANSWERABLE"]
    hit = sum(t.label == "UNANSWERABLE" for t in predicted)
    return {
        "answer rate on ANSWERABLE": rate("ANSWERABLE", {"answer"}),
        "abstain-or-handoff precision (UNANSWERABLE)": hit / len(predicted) if predicted else 0.0,
        "abstain-or-handoff recall (UNANSWERABLE)": hit / len(unanswerable) if unanswerable else 0.0,
        "clarify rate on UNDERSPECIFIED": rate("UNDERSPECIFIED", {"clarify"}),
        "clarify rate on ANSWERABLE (should be low)": rate("ANSWERABLE", {"clarify"}),
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench bot_mtrag")
    ap.add_argument("--per-label", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data-dir", type=Path, default=None, help="keep the KB here (a re-run embeds nothing)")
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from core.models.fake import DownChatModel
    from core.settings import Settings
    from knowledge.documents import Document
    from server.container import Services

    corpus, tasks = read(args.per_label, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        settings = Settings(environment="test", data_dir=data_dir)  # type: ignore[call-arg]
        services = Services(settings)
        t0 = time.perf_counter()
        for collection, passages in corpus.items():
            docs = [
                Document(id=pid, title=text.split("\n", 1)[0][:120], body=text, source=f"mtrag:{collection}")
                for pid, text in passages.items()
            ]
            services.kb.load_documents(f"mtrag-{collection}", docs)
        print(f"KB ready in {time.perf_counter() - t0:.0f}s ({sum(len(p) for p in corpus.values())} passages)")
        services.chat.describe()
        ours = run(services.bot, tasks)
        base: list[tuple[Task, str, float]] = []
        if not args.skip_baseline:
            baseline = Services(settings, chat_override=DownChatModel())
            base = run(baseline.bot, tasks)
            baseline.close()
        model = services.chat.describe()
        services.close()
    m_ours, m_base = metrics(ours), metrics(base) if base else {}
    counts = Counter(t.label for t in tasks)
    title = (
        f"Bot on MTRAG ({', '.join(f'{n} {label}' for label, n in counts.items())}; seed {args.seed}); "
        f"model: {model.get('backend')} {model.get('model', '')}"
    )
    rows = [[k, m_base.get(k, 0.0), v, ratio(v, m_base[k]) if m_base else "-"] for k, v in m_ours.items()]
    print_table(["metric", "extractive only (baseline)", "bot with model", "ratio"], rows, title=title)
    secs = [s for _, _, s in ours]
    print(f"\nper task: p50 {percentile(secs, 50):.2f}s, p95 {percentile(secs, 95):.2f}s")
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for t, k, _ in ours:
        kinds[t.label][k] += 1
    for label, c in kinds.items():
        print(f"{label}: {dict(c)}")
    return 0
