"""Handoff precision/recall and reason accuracy on the scripted conversations of evals/suites/handoff.yaml.

Usage: ``python -m bench bot_handoff [--model llama|extractive] [--only ID,…] [--verbose] [--public]``

Runs every case through the real bot (MiniLM, demo help center and CRM loaded into a
temporary folder, the bundled model unless ``--model extractive``, which answers with the
extractive path only) with the case's wall-clock time ("at") injected. The baseline,
measured in the same run, is the same bot with only the walking-skeleton triggers
(explicit request, no answer twice) switched on through the tenant config.

``--public`` instead measures the trigger detectors (no bot, no model) on public labelled
queries from other domains, so the patterns are checked on words they were not written from:
requests for a person (bitext ``contact_human_agent`` against every other bitext intent),
leaving (bitext ``delete_account``, banking77 ``terminate_account``, clinc150 ``cancel``... as
positives only where the customer states it; ``check_cancellation_fee`` and ``cancel_order``
must not fire), fraud (banking77 ``compromised_card`` / ``*_not_recognised``, clinc150
``report_fraud``) and the frustration lexicon (no ordinary query alone may reach the threshold). The
baseline is the detector of the first release (``bot.triggers`` before issue 13) where one exists.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from bench.table import print_table, ratio

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "evals" / "suites" / "handoff.yaml"
BASELINE_TRIGGERS = {
    "explicit_request": True,
    "no_answer": True,
    "sensitive_topics": False,
    "frustration": False,
    "repetition": False,
    "after_hours": False,
}


@dataclass
class Outcome:
    case: str
    expected: bool
    expected_reason: str | None
    expected_queue: str | None
    handoff: bool
    reason: str | None
    queue: str | None
    turns: int
    seconds: float


def run_case(services: object, case: dict[str, object], verbose: bool) -> Outcome:
    from bot.errors import HandoffRequired
    from bot.state import BotMemory
    from core.types import Author, Turn

    bot = services.bot  # type: ignore[attr-defined]
    at = datetime.fromisoformat(str(case["at"]))
    memory = BotMemory()
    turns: list[Turn] = []
    expect = case["expect"]
    assert isinstance(expect, dict)
    start = time.perf_counter()
    handoff, reason, queue = False, None, None
    n = 0
    for text in case["turns"]:  # type: ignore[attr-defined]
        n += 1
        turns.append(Turn(author=Author.customer, text=str(text)))
        try:
            reply = bot.respond(
                str(case.get("tenant") or "larkspur"),
                turns,
                customer_id=case.get("customer_id"),
                memory=memory,
                conversation_id=str(case["id"]),
                now=at,
            )
        except HandoffRequired as h:
            handoff, reason, queue = True, h.brief.reason.value, h.brief.queue
            if verbose:
                print(f"  {case['id']} > {text!r} -> HANDOFF {reason} ({h.brief.reason_detail}) queue={queue}")
            break
        if verbose:
            print(f"  {case['id']} > {text!r} -> {reply.kind}/{reply.mode} [{reply.intent}] {reply.text[:90]!r}")
        turns.append(Turn(author=Author.bot, text=reply.text))
    return Outcome(
        str(case["id"]),
        bool(expect.get("handoff")),
        expect.get("reason"),
        expect.get("queue"),
        handoff,
        reason,
        queue,
        n,
        time.perf_counter() - start,
    )


def score(outcomes: list[Outcome]) -> dict[str, float]:
    tp = sum(o.expected and o.handoff for o in outcomes)
    fp = sum(o.handoff and not o.expected for o in outcomes)
    fn = sum(o.expected and not o.handoff for o in outcomes)
    right_reason = sum(o.expected and o.handoff and o.reason == o.expected_reason for o in outcomes)
    right_queue = sum(o.expected and o.handoff and o.queue == o.expected_queue for o in outcomes)
    predicted = tp + fp
    # reason-level: a handoff counts only with the right reason
    return {
        "handoff precision": tp / predicted if predicted else 0.0,
        "handoff recall": tp / (tp + fn) if tp + fn else 0.0,
        "reason precision": right_reason / predicted if predicted else 0.0,
        "reason recall": right_reason / (tp + fn) if tp + fn else 0.0,
        "queue accuracy (handoffs)": right_queue / tp if tp else 0.0,
    }


def per_reason(outcomes: list[Outcome]) -> list[list[object]]:
    rows: list[list[object]] = []
    reasons = sorted(({o.expected_reason or "" for o in outcomes} | {o.reason or "" for o in outcomes}) - {""})
    for r in reasons:
        tp = sum(o.reason == r and o.expected_reason == r for o in outcomes)
        pred = sum(o.reason == r for o in outcomes)
        gold = sum(o.expected_reason == r for o in outcomes)
        rows.append([r, gold, pred, tp / pred if pred else 0.0, tp / gold if gold else 0.0])
    return rows


DATA = ROOT / ".." / "shared" / "data"
_OLD_EXPLICIT = (
    r"\b(human|real person|a person|actual person|someone real|an? (?:live |real )?agent|live agent|"
    r"representative|operator|supervisor|manager|"
    r"(?:speak|talk|chat) (?:to|with) (?:someone|somebody|a person|customer service|support|your team|staff)|"
    r"someone (?:from|on) your team|connect me (?:to|with)|put me through|call me back|callback)\b"
)


def _public_sets() -> dict[str, list[tuple[str, str]]]:
    """(text, label) per public data set; label is the data set's intent."""
    import csv
    import json

    bitext = [
        (r["instruction"], r["intent"])
        for r in csv.DictReader(
            (DATA / "bitext_customer_support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv").open()
        )
    ]
    banking = [(r["text"], r["category"]) for r in csv.DictReader((DATA / "banking77" / "train.csv").open())]
    clinc = [(t, i) for t, i in json.loads((DATA / "clinc150" / "data_full.json").read_text())["test"]]
    return {"bitext": bitext, "banking77": banking, "clinc150": clinc}


def _pr(rows: list[tuple[bool, bool]]) -> tuple[float, float, int, int]:
    tp = sum(g and p for g, p in rows)
    fp = sum(p and not g for g, p in rows)
    fn = sum(g and not p for g, p in rows)
    return (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0), tp + fn, len(rows)


def public(verbose: bool) -> int:
    import re

    from bot.sensitive import cancellation, fraud
    from bot.triggers import explicit_request, negativity

    sets = _public_sets()
    old = re.compile(_OLD_EXPLICIT, re.IGNORECASE)
    checks: list[tuple[str, str, list[tuple[str, str]], set[str], set[str], object, object]] = [
        # name, data set, rows, positive labels, labels left out, new detector, old detector
        (
            "person requested",
            "bitext",
            sets["bitext"],
            {"contact_human_agent"},
            {"contact_customer_service"},
            explicit_request,
            lambda t: bool(old.search(t)),
        ),
        (
            "leaving (stated)",
            "bitext",
            sets["bitext"],
            {"delete_account"},
            set(),
            lambda t: cancellation(t) is not None,
            None,
        ),
        (
            "leaving (stated)",
            "banking77",
            sets["banking77"],
            {"terminate_account"},
            set(),
            lambda t: cancellation(t) is not None,
            None,
        ),
        (
            "fraud",
            "banking77",
            sets["banking77"],
            {
                "compromised_card",
                "card_payment_not_recognised",
                "cash_withdrawal_not_recognised",
                "direct_debit_payment_not_recognised",
            },
            {"lost_or_stolen_card", "lost_or_stolen_phone"},
            lambda t: fraud(t) is not None,
            None,
        ),
        (
            "fraud",
            "clinc150",
            sets["clinc150"],
            {"report_fraud"},
            {"freeze_account", "report_lost_card"},
            lambda t: fraud(t) is not None,
            None,
        ),
    ]
    table: list[list[object]] = []
    for name, data, rows, positives, skip, new, base in checks:
        kept = [(t, label) for t, label in rows if label not in skip]
        for variant, detect in (("new", new), ("first release", base)):
            if detect is None:
                continue
            marks = [(label in positives, bool(detect(t))) for t, label in kept]  # type: ignore[operator]
            p, r, n_pos, n = _pr(marks)
            table.append([name, data, variant, n_pos, n, p, r])
            if verbose and variant == "new":
                misses = [t for (t, label), (g, pr) in zip(kept, marks, strict=True) if g != pr][:12]
                print(f"  {name}/{data} disagreements: {misses}")
    print_table(
        ["detector", "data", "variant", "positives", "queries", "precision", "recall"],
        table,
        title="Handoff trigger detectors on public queries (no bot)",
    )
    # Where the labels do not say: how often a question about contacting support reads as a request.
    contact = [t for t, label in sets["bitext"] if label == "contact_customer_service"]
    fee = [t for t, label in sets["bitext"] if label == "check_cancellation_fee"]
    print(
        f"\nbitext contact_customer_service read as a request for a person: "
        f"{sum(explicit_request(t) for t in contact) / len(contact):.3f} of {len(contact)} (ambiguous by design)"
    )
    calm = [t for rows in sets.values() for t, _label in rows]
    print(
        f"single ordinary queries that alone reach the frustration threshold (1.0): "
        f"{sum(negativity(t) >= 1.0 for t in calm)} of {len(calm)} (bitext, banking77, clinc150; should be ~0)"
    )
    print(
        f"bitext check_cancellation_fee read as leaving: "
        f"{sum(cancellation(t) is not None for t in fee) / len(fee):.3f} of {len(fee)} (should be ~0: a question)"
    )
    return 0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench bot_handoff")
    ap.add_argument("--model", choices=["llama", "extractive"], default="llama")
    ap.add_argument("--only", default="")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--public", action="store_true", help="the trigger detectors on public data sets instead")
    args = ap.parse_args(argv)
    if args.public:
        return public(args.verbose)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from core.models.fake import DownChatModel
    from core.settings import Settings
    from server.container import Services
    from server.demo import demo_tenant_config, load_demo

    cases = yaml.safe_load(SUITE.read_text(encoding="utf-8"))["cases"]
    if args.only:
        wanted = set(args.only.split(","))
        cases = [c for c in cases if c["id"] in wanted]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(environment="test", data_dir=Path(tmp), demo_dir=ROOT / "demo")  # type: ignore[call-arg]
        services = Services(settings, chat_override=DownChatModel() if args.model == "extractive" else None)
        load_demo(services)
        results: dict[str, list[Outcome]] = {}
        variants = [("full policy", None)] + ([] if args.skip_baseline else [("baseline", BASELINE_TRIGGERS)])
        for name, triggers in variants:
            config = dict(demo_tenant_config())
            if triggers is not None:
                config["handoff_triggers"] = triggers
            services.store.ensure_tenant("larkspur", "Larkspur", config)
            if args.verbose:
                print(f"== {name}")
            results[name] = [run_case(services, c, args.verbose and name == "full policy") for c in cases]
        services.close()
    full = score(results["full policy"])
    base = score(results["baseline"]) if "baseline" in results else {}
    rows = [[k, base.get(k, 0.0), v, ratio(v, base[k]) if base else "-"] for k, v in full.items()]
    n_pos = sum(o.expected for o in results["full policy"])
    print_table(
        ["metric", "baseline", "full policy", "ratio"],
        rows,
        title=f"Handoff on {len(cases)} scripted conversations ({n_pos} should hand off), model={args.model}",
    )
    print()
    print_table(["reason", "expected", "predicted", "precision", "recall"], per_reason(results["full policy"]))
    full_run = results["full policy"]
    wrong = [o for o in full_run if (o.handoff, o.reason, o.queue) != (o.expected, o.expected_reason, o.expected_queue)]
    if wrong:
        misses = [f"{o.case}(want {o.expected_reason}/{o.expected_queue}, got {o.reason}/{o.queue})" for o in wrong]
        print("\nmisses: " + ", ".join(misses))
    secs = [o.seconds / o.turns for o in results["full policy"]]
    counts = Counter(o.reason for o in full_run)
    print(f"\nmean time per customer turn: {sum(secs) / len(secs):.2f}s; handoffs by reason {dict(counts)}")
    return 0
