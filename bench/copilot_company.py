"""Copilot on a company folder's copilot cases: articles in the top 3 / 5, next best action, internal text in replies.

Usage: ``python -m bench copilot_company [DIR] [--data-dir D] [--show]``

``DIR`` is a company folder in the layout of ``../shared/data/companies/brightwater``
(``tenant.yaml``, ``kb/``, ``crm.json``, ``cases.yaml`` with ``copilot_cases`` and
``global_forbidden``). The folder is onboarded into a throw-away data dir (tenant
configuration, KB, CRM) and each case's conversation is given to the copilot in-process,
as the agent console would see it after the case's last turn (the case's customer record
attached). Scored by the folder README's copilot rules:

- ``article_hit_at_3``: at least one expected article among the top 3 suggestions;
  ``recall@3`` / ``recall@5``: the mean share of a case's expected articles among the top 3 /
  the top 5 suggestions shown (the tenant's ``suggest_articles`` answers plus the situation's
  playbook; ``--articles N`` overrides the tenant's count); ``all expected in top 3 / 5``: the
  share of cases with every expected article there (a stricter figure than the mean recall);
- ``next_action_accuracy``: the suggested action's key equals the expected one; a suggested
  action (first choice) in the case's ``forbidden_actions`` fails the case;
- ``internal_in_replies``: replies containing a ``global_forbidden`` string or a sentence
  of an internal article (any 8-word run of one).

Baseline in the same run: the bot's retrieval (public articles, last customer turn
rewritten) for the article hit, and the majority action for the next best action.
``switchboard evals company DIR --kind copilot`` plays the same cases over the real agent
flow (HTTP + websocket); this benchmark is the fast, in-process loop.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.table import print_table

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "data" / "companies" / "brightwater"
_WORDS = re.compile(r"[a-z0-9£$€%.'-]+")


def _norm(text: str) -> str:
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip().lower()


def _runs(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = _WORDS.findall(_norm(text))
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench copilot_company", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=DEFAULT, help="company folder (default: brightwater)")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the onboarded data here (reused if present)")
    parser.add_argument("--show", action="store_true", help="print each case's suggestions")
    parser.add_argument("--no-replies", action="store_true", help="skip suggested replies (faster)")
    parser.add_argument("--articles", type=int, default=0, help="answers to suggest (default: the tenant's count)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import yaml

    from core.models.fake import ScriptedChatModel
    from core.settings import Settings
    from core.types import Author, Turn, Visibility
    from knowledge.context import PUBLIC
    from server.container import Services
    from server.tenants import Onboarding

    folder: Path = args.folder
    cases_file = yaml.safe_load((folder / "cases.yaml").read_text(encoding="utf-8"))
    cases: list[dict[str, Any]] = cases_file.get("copilot_cases", [])
    forbidden_global = [_norm(s) for s in cases_file.get("global_forbidden", [])]
    with tempfile.TemporaryDirectory(prefix="sb-company-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        fresh = not (data_dir / "onboarded").exists()
        settings = Settings(environment="test", data_dir=data_dir)  # type: ignore[call-arg]
        # Replies: the bundled base model is not asked to write them (the copilot composes them).
        services = Services(settings, chat_override=ScriptedChatModel(["-"]))
        try:
            onboarding = Onboarding(services)
            result, _ = onboarding.apply_file(folder / "tenant.yaml", actor="bench")
            tenant = result.tenant_id
            if fresh:
                report = services.kb.load_folder(tenant, folder / str(cases_file.get("kb_dir", "kb")))
                if report.errors:
                    print("KB errors:", report.errors)
                crm = folder / str(cases_file.get("crm_file", "crm.json"))
                if crm.is_file():
                    onboarding.import_crm(tenant, [crm], actor="bench")
                (data_dir / "onboarded").write_text("yes")
            internal_runs: set[tuple[str, ...]] = set()
            public_runs: set[tuple[str, ...]] = set()
            for a in services.kb.list_articles(tenant):
                for c in services.kb.chunks_of(tenant, [a.id]):
                    (internal_runs if c.visibility == Visibility.internal else public_runs).update(_runs(c.text))
            internal_runs -= public_runs
            if args.articles:
                services.copilot.article_count = lambda _tenant: args.articles
            hit3 = all3 = all5 = nba_ok = forbidden = leaks = base_hit3 = 0
            recall3: list[float] = []
            recall5: list[float] = []
            timings: list[float] = []
            expected_actions = Counter(str(c["expect"].get("next_action")) for c in cases)
            majority = expected_actions.most_common(1)[0][0] if expected_actions else ""
            rows: list[list[object]] = []
            services.copilot.suggest(tenant, [Turn(author=Author.customer, text="hello")], customer_id=None,
                                     message_seq=1)  # warm-up: models and caches
            for case in cases:
                turns = [
                    Turn(author=Author.customer if t["role"] == "customer" else Author.agent, text=t["text"])
                    for t in case["conversation"]
                ]
                expect = case["expect"]
                want = [str(a) for a in expect.get("articles", [])]
                started = time.perf_counter()
                s = services.copilot.suggest(tenant, turns, customer_id=case.get("customer_id"), message_seq=len(turns))
                timings.append((time.perf_counter() - started) * 1000)
                got = [a.article_id for a in s.articles]
                ok3 = any(a in got[:3] for a in want)
                hit3 += ok3
                all3 += all(a in got[:3] for a in want)
                all5 += all(a in got[:5] for a in want)
                if want:
                    recall3.append(sum(a in got[:3] for a in want) / len(want))
                    recall5.append(sum(a in got[:5] for a in want) / len(want))
                base = services.context.context(tenant, turns, customer_id=None, visibilities=PUBLIC, k=9)
                base_ids = list(dict.fromkeys(p.article_id for p in base.passages))[:3]
                base_hit3 += any(a in base_ids for a in want)
                nba = s.next_action
                action = _action_key(nba)
                ok_nba = action == expect.get("next_action")
                nba_ok += ok_nba
                bad = action is not None and action in case.get("forbidden_actions", [])
                forbidden += bad
                replies: list[str] = []
                if not args.no_replies:
                    drafted = _replies(services, s, turns, tenant)
                    replies = [r.text for r in drafted]
                leaked = [
                    r for r in replies if any(f in _norm(r) for f in forbidden_global) or _runs(r) & internal_runs
                ]
                leaks += len(leaked)
                rows.append([case["id"], "/".join(want), " ".join(got), "yes" if ok3 else "NO",
                             expect.get("next_action"), action or "-", "ok" if ok_nba else "NO",
                             len(replies), len(leaked)])
                if args.show:
                    print(f"\n== {case['id']} want {want} / {expect.get('next_action')}")
                    print("   articles:", got)
                    print("   action:", action, getattr(nba, "reason", ""))
                    for r in replies:
                        print("   reply:", r[:300])
        finally:
            services.close()
    n = len(cases) or 1
    print_table(["case", "expected", "suggested", "hit@3", "expected action", "suggested", "", "replies", "leaks"],
                rows, title=f"\nCopilot on {folder.name}: {len(cases)} cases")
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))] if timings else 0.0
    print_table(
        ["metric", "value", "baseline (same run)"],
        [
            ["article_hit_at_3", round(hit3 / n, 3), f"bot retrieval {base_hit3 / n:.3f}"],
            ["recall@3 (mean share of expected)", _mean(recall3), ""],
            ["recall@5 (mean share of expected)", _mean(recall5), "answers + playbook shown, up to 5"],
            ["all expected in top 3 (cases)", round(all3 / n, 3), ""],
            ["all expected in top 5 (cases)", round(all5 / n, 3), ""],
            ["next_action_accuracy", round(nba_ok / n, 3), f"majority {expected_actions[majority] / n:.3f}"],
            ["forbidden action suggested", forbidden, ""],
            ["internal_in_replies", leaks, ""],
            ["suggest p95 ms (in-process)", round(p95, 1), ""],
        ],
        title="\nMetrics",
    )
    print(json.dumps({"article_hit_at_3": hit3 / n, "next_action_accuracy": nba_ok / n, "internal_in_replies": leaks}))
    return 0


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 3) if values else 0.0


def _action_key(nba: object) -> str | None:
    if nba is None:
        return None
    for attr in ("key", "subflow"):
        value = getattr(nba, attr, None)
        if isinstance(value, str):
            return value
    return None


def _replies(services: Any, s: Any, turns: list[Any], tenant: str) -> list[Any]:
    from copilot.live import _passage

    passages = [_passage(a) for a in s.articles]
    company, hosts, fingerprint = services.copilot.reply_safety(tenant, passages)
    return list(
        services.copilot_replies.draft(
            turns,
            passages,
            message_seq=s.message_seq,
            language=s.language,
            company=company,
            allowed_hosts=hosts,
            fingerprint=fingerprint,
        )
    )
