"""Copilot latency: KB suggestions p50/p95 after the message is stored, reply time to first token, vs retrieval.

Usage: ``python -m bench copilot_latency [--n 40] [--data-dir DIR] [--company DIR]``

Each demo question (``demo/nlu.yml``, as in ``answer_latency``) is posted by a customer into
a conversation a human owns, through ``ConversationService.post_customer_message`` exactly as
the server does. Clocks start when the message is committed (the copilot job is submitted):

- ``suggestions``: until the first event (KB articles + highlights, CRM facts, next best
  action, sentiment) is published on the agent topic (goal: p95 <= 150 ms);
- ``reply first token``: until the model streams the first token of the suggested reply;
- ``replies``: until the grounded replies event is published.

``--company DIR`` replays a company folder's copilot cases instead (``bench copilot_company``'s
layout): each case is one conversation a human owns, the agent's turns posted as the agent's
replies, and every customer message is measured with the conversation so far.

The baseline is retrieval only (``knowledge.context`` for the same conversation) in the same
run; ratios compare across machines. Messages are sent one after another (no queueing). The
message's own embedding is dropped from the embedder's cache before each side runs (a real
message is new to the server); KB texts stay cached, as in a running server.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.answer_latency import demo_questions
from bench.table import percentile, print_table, ratio

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "demo"
TENANT = "larkspur"


def _row(name: str, ms: list[float], base: list[float]) -> list[object]:
    p50, p95 = percentile(ms, 50), percentile(ms, 95)
    return [name, len(ms), p50, p95, ratio(p50, percentile(base, 50)), ratio(p95, percentile(base, 95))]


def _forget(embedder: object, text: str) -> None:
    """A customer's message is new to a real server: drop it from the embedder's cache, so
    neither side of the comparison gets its vector from the other (KB texts stay cached)."""
    cache, lock = getattr(embedder, "_cache", None), getattr(embedder, "_cache_lock", None)
    if cache is not None and lock is not None:
        with lock:
            cache.pop(text, None)


def _company(
    services: object, folder: Path, *, fresh: bool
) -> tuple[str, list[tuple[str | None, list[tuple[str, str]]]]]:
    """Onboard a company folder (``bench copilot_company``'s layout); its copilot cases as
    conversations: (customer id, [(role, text)])."""
    import yaml

    from server.tenants import Onboarding

    cases_file = yaml.safe_load((folder / "cases.yaml").read_text(encoding="utf-8"))
    onboarding = Onboarding(services)  # type: ignore[arg-type]
    result, _ = onboarding.apply_file(folder / "tenant.yaml", actor="bench")
    if fresh:
        services.kb.load_folder(result.tenant_id, folder / str(cases_file.get("kb_dir", "kb")))  # type: ignore[attr-defined]
        crm = folder / str(cases_file.get("crm_file", "crm.json"))
        if crm.is_file():
            onboarding.import_crm(result.tenant_id, [crm], actor="bench")
    scripts = [
        (c.get("customer_id"), [(str(t["role"]), str(t["text"])) for t in c["conversation"]])
        for c in cases_file.get("copilot_cases", [])
    ]
    return result.tenant_id, scripts


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench copilot_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="customer messages (default 40)")
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a loaded data dir (e.g. var)")
    parser.add_argument(
        "--company", type=Path, default=None, help="a company folder: replay its copilot cases turn by turn"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from copilot.live import LiveJob
    from core.db.conversations import get_conversation
    from core.settings import Settings
    from core.types import Author, ConversationState, Turn
    from knowledge.context import ALL
    from server.auth import Principal, Role
    from server.container import Services
    from server.demo import load_demo
    from server.service import ConversationService

    @dataclass
    class Capturing(ConversationService):
        jobs: list[LiveJob] = field(default_factory=list)

        def suggest_for_agent(self, tenant: str, conv_id: str, message_seq: int | None = None) -> LiveJob:
            job = super().suggest_for_agent(tenant, conv_id, message_seq)
            self.jobs.append(job)
            return job

    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        # One customer sends every question within a minute: the per-session rate limit is
        # for real customers, not for this measurement.
        settings = Settings(  # type: ignore[call-arg]
            environment="test",
            data_dir=args.data_dir or Path(tmp),
            demo_dir=DEMO_DIR,
            messages_per_minute_per_session=100_000,
            messages_per_minute_per_tenant=100_000,
        )
        services = Services(settings)
        try:
            if args.company is not None:
                tenant, scripts = _company(services, args.company, fresh=args.data_dir is None)
            else:
                if args.data_dir is None:
                    load_demo(services)
                tenant = TENANT
                scripts = [("cus_001", [("customer", q)]) for q in demo_questions(args.n)]
            service = Capturing(services)
            agent = Principal(Role.agent, tenant, name="bench-agent")

            def play(customer_id: str | None, turns: list[tuple[str, str]]) -> list[tuple[float, LiveJob]]:
                """One conversation a human owns, turn by turn; per customer message the
                baseline retrieval (ms) for the conversation so far and the copilot's job."""
                principal = Principal(Role.customer, tenant, customer_id, visitor_id="bench")
                conv = service.start(principal).id
                with services.store.session(tenant) as s:
                    get_conversation(s, conv).state = ConversationState.human.value
                so_far: list[Turn] = []
                out: list[tuple[float, LiveJob]] = []
                for role, text in turns:
                    if role != "customer":
                        service.agent_reply(agent, conv, text)
                        so_far.append(Turn(author=Author.agent, text=text))
                        continue
                    so_far.append(Turn(author=Author.customer, text=text))
                    _forget(services.embedder, text)
                    t0 = time.perf_counter()
                    services.context.context(tenant, so_far, customer_id=None, visibilities=ALL, k=9)
                    base_ms = (time.perf_counter() - t0) * 1000
                    _forget(services.embedder, text)  # each side embeds the new message itself
                    service.post_customer_message(principal, conv, text)
                    job = service.jobs[-1]
                    job.fast.result(timeout=60)
                    job.replies.result(timeout=120)
                    out.append((base_ms, job))
                return out

            start = time.perf_counter()
            play(scripts[0][0], [("customer", "hello, I have a question")])  # warm-up: models, indexes, caches
            warm = time.perf_counter() - start
            base, fast, ttft, replies = [], [], [], []
            modes: Counter[str] = Counter()
            for i, (customer_id, turns) in enumerate(scripts, start=1):
                for base_ms, job in play(customer_id, turns):
                    base.append(base_ms)
                    if job.fast_latency_ms is not None:
                        fast.append(job.fast_latency_ms)
                    if job.first_token_ms is not None:
                        ttft.append(job.first_token_ms)
                    result = job.replies.result()
                    if result is not None:
                        replies.append((time.perf_counter() - job.submitted) * 1000)
                        modes.update(r.mode for r in result.replies)
                print(f"\r{i}/{len(scripts)}", end="", flush=True)
            print()
        finally:
            services.close()
    print(
        f"warm-up {warm:.1f}s; chat {settings.chat_backend}, embedder {settings.embedder_backend}, "
        f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}"
    )
    rows = [_row("retrieval only (baseline)", base, base), _row("suggestions published", fast, base)]
    if ttft:
        rows.append(_row("reply first token", ttft, base))
    if replies:
        rows.append(_row("replies published (upper bound)", replies, base))
    print_table(
        ["after the message is stored", "n", "p50 ms", "p95 ms", "p50 vs base", "p95 vs base"],
        rows,
        title=f"\nCopilot latency over {len(fast)} customer messages in {len(scripts)} conversations ({tenant})",
    )
    print("suggested reply modes: " + ", ".join(f"{k} {v}" for k, v in sorted(modes.items())))
    p95 = percentile(fast, 95)
    print(f"suggestions p95 {p95:.0f} ms: {'meets' if p95 <= 150 else 'misses'} the 150 ms goal")
    return 0
