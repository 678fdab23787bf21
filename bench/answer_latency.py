"""Time to answer demo questions on the embedded default (p50/p95), against retrieval-only and extractive baselines.

Usage: ``python -m bench answer_latency [--n 50] [--data-dir DIR]``

The questions are the customer examples of the knowledge intents in ``demo/nlu.yml``
(taken round-robin, so every intent is represented). For every question the same run
measures three paths on the same warmed-up components:

- ``retrieval``: the RAG context only (query rewrite, hybrid search, CRM facts) - the baseline;
- ``extractive``: retrieval plus the extractive answer (no generation);
- ``answer``: the full customer turn as the server runs it (store the message, bot policy,
  retrieval, llama.cpp generation, grounding check, store the reply).

Ratios are to the retrieval-only time of the same run, so they compare across machines.
Without ``--data-dir`` the demo is loaded into a temporary folder first (not timed).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from bench.table import percentile, print_table, ratio

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "demo"
TENANT = "larkspur"
# Intents whose questions the help center answers (greetings, yes/no and "a human please"
# never reach the model, so they would flatter the figures).
KNOWLEDGE_INTENTS = (
    "start_return",
    "refund_status",
    "shipping_info",
    "payment_methods",
    "warranty",
    "product_troubleshooting",
    "account_help",
    "invoice_request",
    "cancel_order",
    "change_address",
    "order_status",
    "billing_dispute",
)


def demo_questions(n: int, nlu_path: Path = DEMO_DIR / "nlu.yml") -> list[str]:
    """``n`` questions from the demo NLU examples, round-robin over the knowledge intents."""
    data = yaml.safe_load(nlu_path.read_text(encoding="utf-8"))
    pools: list[list[str]] = []
    for entry in data.get("nlu", []):
        if entry.get("intent") in KNOWLEDGE_INTENTS:
            examples = [line[2:].strip() for line in str(entry["examples"]).splitlines() if line.startswith("- ")]
            # Prefer full questions: longer examples first, stable order.
            pools.append(sorted((e for e in examples if len(e.split()) >= 4), key=lambda e: (-len(e), e)))
    questions: list[str] = []
    depth = 0
    while len(questions) < n and any(depth < len(p) for p in pools):
        questions += [p[depth] for p in pools if depth < len(p)]
        depth += 1
    if len(questions) < n:
        raise SystemExit(f"only {len(questions)} demo questions available; ask for fewer with --n")
    return questions[:n]


def _stats(name: str, times: list[float], baseline: list[float]) -> list[object]:
    p50, p95 = percentile(times, 50), percentile(times, 95)
    b50, b95 = percentile(baseline, 50), percentile(baseline, 95)
    return [name, len(times), p50, p95, sum(times) / len(times), ratio(p50, b50), ratio(p95, b95)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench answer_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="number of questions (default 50)")
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a loaded data dir (e.g. var)")
    parser.add_argument("--customer", default="cus_001", help="demo customer asking (CRM facts are loaded)")
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    # Imported here so ``python -m bench`` (listing) stays instant.
    from core.settings import Settings
    from core.types import Author, Turn
    from knowledge.context import PUBLIC
    from server.auth import Principal, Role
    from server.container import Services
    from server.demo import load_demo
    from server.service import ConversationService

    questions = demo_questions(args.n)
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        # One customer asks 50 questions back to back: lift the per-session rate limit, which
        # would otherwise (rightly) slow a human-impossible pace down.
        settings = Settings(  # type: ignore[call-arg]
            environment="test",
            data_dir=data_dir,
            demo_dir=DEMO_DIR,
            messages_per_minute_per_session=10_000,
            messages_per_minute_per_tenant=10_000,
        )
        services = Services(settings)
        try:
            start = time.perf_counter()
            if args.data_dir is None:
                load_demo(services)
            setup_s = time.perf_counter() - start
            conversations = ConversationService(services)
            principal = Principal(Role.customer, TENANT, args.customer, visitor_id="bench")

            def retrieve(q: str) -> object:
                turns = [Turn(author=Author.customer, text=q)]
                return services.context.context(TENANT, turns, customer_id=args.customer, visibilities=PUBLIC)

            def extract(q: str) -> str:
                ctx = retrieve(q)
                top = ctx.passages[: settings.answer_passages]  # type: ignore[attr-defined]
                return services.answerer.extractive(q, top).mode

            def answer(q: str) -> str:
                conv = conversations.start(principal)
                result = conversations.post_customer_message(principal, conv.id, q)
                if result.handoff is not None:
                    return "handoff"
                return str(result.replies[0].kind) if result.replies else "none"

            # Warm-up (not timed): loads MiniLM, llama.cpp and the keyword index.
            start = time.perf_counter()
            answer("How long do I have to return an item?")
            warmup_s = time.perf_counter() - start

            t_retrieval: list[float] = []
            t_extractive: list[float] = []
            t_answer: list[float] = []
            outcomes: Counter[str] = Counter()
            for i, q in enumerate(questions, start=1):
                t0 = time.perf_counter()
                retrieve(q)
                t1 = time.perf_counter()
                extract(q)
                t2 = time.perf_counter()
                outcomes[answer(q)] += 1
                t3 = time.perf_counter()
                t_retrieval.append(t1 - t0)
                t_extractive.append(t2 - t1)
                t_answer.append(t3 - t2)
                print(f"\r{i}/{len(questions)} questions", end="", flush=True)
            print()
        finally:
            services.close()

    print(f"setup (demo load) {setup_s:.1f}s, warm-up (first answer, loads models) {warmup_s:.1f}s")
    print(f"chat model: {settings.chat_backend}, embedder: {settings.embedder_backend}, cpus: {os.cpu_count()}")
    print_table(
        ["path", "n", "p50 s", "p95 s", "mean s", "p50 vs retrieval", "p95 vs retrieval"],
        [
            _stats("retrieval (baseline)", t_retrieval, t_retrieval),
            _stats("extractive answer", t_extractive, t_retrieval),
            _stats("full answer (bot turn)", t_answer, t_retrieval),
        ],
        title=f"\nTime to answer {len(questions)} demo questions",
    )
    print("\noutcomes of the full answer: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    return 0
