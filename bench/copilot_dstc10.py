"""Copilot KB suggestions on DSTC10 track 2 knowledge-seeking turns: is the gold snippet among the top 3 suggestions?

Usage: ``python -m bench copilot_dstc10 [--limit N] [--data-dir DIR]``

The 12,039 FAQ snippets of ``../shared/data/dstc10_track2_kgd/knowledge.json`` are loaded as
KB articles (title = entity name + FAQ question, body = answer) into a fresh tenant on the
embedded default (Chroma + MiniLM + BM25, hybrid retrieval). For each validation turn
labelled knowledge-seeking (104, spoken and ASR-transcribed), the dialogue so far is given
to the copilot exactly as a live conversation (user = customer, system = agent) and the top
3 suggested articles are compared with the gold snippet. Goal: recall@3 >= 0.9.

ms/turn is measured cold (article vectors embedded on first sight) and again warm (cached).

Baseline in the same run: the bot's query (last customer turn, rewritten from earlier
customer turns only) on the same index.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench.table import print_table, ratio

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "dstc10_track2_kgd"
TENANT = "dstc10"


def article_id(domain: str, entity: object, doc: object) -> str:
    return f"{domain}-{entity}-{doc}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench copilot_dstc10", description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N knowledge-seeking turns")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the loaded index here (reused if present)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from core.models.fake import ScriptedChatModel
    from core.settings import Settings
    from core.types import Author, Turn, Visibility
    from knowledge.documents import Document
    from knowledge.rewrite import rewrite_query
    from server.container import Services

    knowledge = json.loads((DATA / "knowledge.json").read_text(encoding="utf-8"))
    logs = json.loads((DATA / "val" / "logs.json").read_text(encoding="utf-8"))
    labels = json.loads((DATA / "val" / "labels.json").read_text(encoding="utf-8"))
    cases = [(log, lab) for log, lab in zip(logs, labels, strict=True) if lab.get("target")]
    if args.limit:
        cases = cases[: args.limit]
    docs = []
    for domain, entities in knowledge.items():
        for entity, spec in entities.items():
            name = spec.get("name") or domain
            for doc_id, doc in spec["docs"].items():
                docs.append(
                    Document(
                        id=article_id(domain, entity, doc_id),
                        title=f"{name}: {doc['title']}",
                        body=doc["body"],
                        visibility=Visibility.internal,
                    )
                )
    with tempfile.TemporaryDirectory(prefix="sb-dstc-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        settings = Settings(environment="test", data_dir=data_dir, chat_backend="fake")  # type: ignore[call-arg]
        services = Services(settings, chat_override=ScriptedChatModel())
        try:
            start = time.perf_counter()
            services.store.ensure_tenant(TENANT, "DSTC10", {})
            report = services.kb.load_documents(TENANT, docs)
            if report.errors:
                print(f"{len(report.errors)} load errors, e.g. {next(iter(report.errors.values()))}")
            load_s = time.perf_counter() - start
            hits = {"copilot": [0, 0], "bot query (baseline)": [0, 0]}
            times: dict[str, float] = {k: 0.0 for k in hits}
            for i, (log, lab) in enumerate(cases, start=1):
                turns = [
                    Turn(author=Author.customer if t["speaker"] == "U" else Author.agent, text=t["text"]) for t in log
                ]
                gold = {article_id(k["domain"], k["entity_id"], k["doc_id"]) for k in lab["knowledge"]}
                for name in hits:
                    t0 = time.perf_counter()
                    if name == "copilot":
                        _, top = services.copilot.articles_for(TENANT, turns)
                    else:
                        _, top = services.copilot.passages(TENANT, turns, query=rewrite_query(turns))
                    times[name] += time.perf_counter() - t0
                    ids = [p.article_id for p in top[:3]]
                    hits[name][0] += bool(ids[:1] and ids[0] in gold)
                    hits[name][1] += bool(gold & set(ids))
                print(f"\r{i}/{len(cases)}", end="", flush=True)
            print()
            # Again with the article vectors cached, as in a live desk after the first messages.
            t0 = time.perf_counter()
            for log, _ in cases:
                turns = [
                    Turn(author=Author.customer if t["speaker"] == "U" else Author.agent, text=t["text"]) for t in log
                ]
                services.copilot.articles_for(TENANT, turns)
            warm_ms = (time.perf_counter() - t0) / max(1, len(cases)) * 1000
        finally:
            services.close()
    n = len(cases)
    base3 = hits["bot query (baseline)"][1]
    rows = [[name, n, h1 / n, h3 / n, ratio(h3, base3), times[name] / n * 1000] for name, (h1, h3) in hits.items()]
    print(f"loaded {len(docs)} snippets in {load_s:.0f}s (embedder {settings.embedder_backend})")
    print(f"copilot ms/turn with article vectors cached (second pass): {warm_ms:.0f}")
    print_table(
        ["query", "turns", "recall@1", "recall@3", "@3 vs baseline", "ms/turn"],
        rows,
        title="\nGold snippet among the copilot's top suggestions (DSTC10 val, knowledge-seeking turns)",
    )
    return 0
