"""DSTC10: knowledge-seeking turns -> gold FAQ snippet among 12k (recall@1/@5), ingestion speed, re-sync.

Usage: ``python -m bench retrieval_dstc10 [--limit N]``

The 12,039 FAQ snippets of ``knowledge.json`` are loaded through the real KB pipeline
(chunking, batched MiniLM embedding, Chroma, BM25, versions) - one article per snippet,
titled "<entity>: <question>". In the same run the raw encoder embeds the same chunk texts
in one call: the ingestion ratio is KB chunks/s over raw encoder chunks/s (goal >= 0.8).
Loading the unchanged snippets again must cost <= 5% of the full load. Queries are the 104
knowledge-seeking validation turns (ASR text), as the last turn alone and rewritten from
the conversation.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.table import print_table

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".." / "shared" / "data" / "dstc10_track2_kgd"
TENANT = "dstc10"


def snippet_id(domain: str, entity: object, doc: object) -> str:
    return f"{domain}-{entity}-{doc}"


def read_snippets(data: Path = DATA) -> list[tuple[str, str, str]]:
    """(article id, title, answer) for every snippet."""
    knowledge = json.loads((data / "knowledge.json").read_text())
    out: list[tuple[str, str, str]] = []
    for domain, entities in knowledge.items():
        for entity_id, entity in entities.items():
            name = entity.get("name") or domain
            for doc_id, doc in entity["docs"].items():
                out.append((snippet_id(domain, entity_id, doc_id), f"{name}: {doc['title']}", doc["body"]))
    return out


def read_queries(data: Path = DATA) -> list[tuple[list[tuple[str, str]], set[str]]]:
    logs = json.loads((data / "val" / "logs.json").read_text())
    labels = json.loads((data / "val" / "labels.json").read_text())
    out = []
    for log, label in zip(logs, labels, strict=True):
        if label.get("target"):
            gold = {snippet_id(k["domain"], k["entity_id"], k["doc_id"]) for k in label["knowledge"]}
            out.append(([(t["speaker"], t["text"]) for t in log], gold))
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench retrieval_dstc10")
    parser.add_argument(
        "--limit", type=int, default=0, help="load N snippets: those of the gold answers first, then others (0: all)"
    )
    args = parser.parse_args(argv)

    from core.settings import Settings
    from core.types import Author, Turn, Visibility
    from knowledge.documents import Document
    from knowledge.index.base import Filters
    from knowledge.rewrite import conversation_rewrite
    from knowledge.splitters.headings import split_document
    from server.container import Services

    snippets = read_snippets()
    if args.limit:
        gold = {g for _, golds in read_queries() for g in golds}
        snippets = sorted(snippets, key=lambda s: s[0] not in gold)[: args.limit]
    docs = [Document(id=i, title=title, body=f"# {title}\n\n{body}", source="dstc10") for i, title, body in snippets]
    with tempfile.TemporaryDirectory() as tmp:
        services = Services(Settings(environment="test", data_dir=Path(tmp), chat_backend="fake"))  # type: ignore[call-arg]
        texts = [c.embedding_text() for d in docs for c in split_document(d, tenant_id=TENANT, version=1)]
        services.embedder.embed(texts[:64])  # load the model before timing anything
        start = time.perf_counter()
        services.embedder.embed(texts)
        raw_s = time.perf_counter() - start

        start = time.perf_counter()
        report = services.kb.load_documents(TENANT, docs)
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        again = services.kb.load_documents(TENANT, docs)
        resync_s = time.perf_counter() - start
        assert again.chunks_embedded == 0 and len(again.unchanged) == len(docs), again.summary()

        raw_cps = len(texts) / raw_s
        kb_cps = report.chunks_embedded / load_s
        print_table(
            ["step", "chunks", "seconds", "chunks/s", "ratio"],
            [
                ["raw encoder (baseline)", len(texts), round(raw_s, 1), round(raw_cps, 1), "1.00"],
                [
                    "KB load (parse+chunk+embed+index)",
                    report.chunks_embedded,
                    round(load_s, 1),
                    round(kb_cps, 1),
                    f"{kb_cps / raw_cps:.2f}",
                ],
                ["KB re-sync, unchanged", 0, round(resync_s, 2), "-", f"{resync_s / load_s:.3f} of full load"],
            ],
            title=f"DSTC10 ingestion ({len(docs)} snippets)",
        )

        filters = Filters(TENANT, frozenset({Visibility.public}))
        queries = read_queries()
        known = {d.id for d in docs}
        rows = []
        todo = [(log, gold) for log, gold in queries if gold <= known]
        conversations = [
            [Turn(author=Author.customer if s == "U" else Author.bot, text=t) for s, t in log] for log, _ in todo
        ]
        lasts = [turns[-1].text for turns in conversations]
        rewrites = [conversation_rewrite(turns) for turns in conversations]
        last_vecs = services.embedder.embed(lasts)  # batched; query latency is measured in retrieval_latency
        rewrite_vecs = services.embedder.embed(rewrites)
        for name, use_rewrite in (("last turn", False), ("last turn + rewrite", True)):
            hits1 = hits5 = 0.0
            for n, (_, gold) in enumerate(todo):
                qs = [lasts[n], rewrites[n]] if use_rewrite else [lasts[n]]
                vs = [last_vecs[n], rewrite_vecs[n]] if use_rewrite else [last_vecs[n]]
                ranked: list[str] = []
                for p in services.retriever.search_many(qs, k=10, filters=filters, query_vectors=vs):
                    if p.article_id not in ranked:
                        ranked.append(p.article_id)
                hits1 += len(gold & set(ranked[:1])) / len(gold)
                hits5 += len(gold & set(ranked[:5])) / len(gold)
            rows.append([name, len(todo), round(hits1 / max(len(todo), 1), 3), round(hits5 / max(len(todo), 1), 3)])
        print_table(["query", "turns", "recall@1", "recall@5"], rows, title="DSTC10 knowledge-seeking turns (hybrid)")
        services.close()
    return 0
