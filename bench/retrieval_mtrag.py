"""Retrieval on MTRAG (clapnq, govt, fiqa): recall@5 and nDCG@10 for BM25, dense, hybrid and hybrid + rewrite.

Usage: ``python -m bench retrieval_mtrag [--collections clapnq,govt,fiqa] [--limit N]``

Per collection the corpus is every unique inline passage of
``mtragun-human/generation_tasks/reference.jsonl`` (loaded through the real KB pipeline with
the bundled MiniLM embedder); the tasks are those with qrels in
``mtragun-human/retrieval_tasks/qrels``. The query is the last user turn; "+ rewrite" is
what ``knowledge.context`` does: the last turn and its deterministic multi-turn rewrite
(``knowledge.rewrite.conversation_rewrite``) searched together and fused. BM25 alone and
dense alone are the baselines of the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.table import print_table

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".." / "shared" / "data" / "mtrag"
COLLECTIONS = ("clapnq", "govt", "fiqa")


@dataclass
class Task:
    task_id: str
    collection: str
    turns: list[tuple[str, str]]  # (speaker, text)
    relevant: set[str]


def read_tasks(data: Path = DATA) -> tuple[dict[str, dict[str, str]], list[Task]]:
    """(collection -> passage id -> text, tasks with qrels)."""
    qrels: dict[str, set[str]] = defaultdict(set)
    for name in COLLECTIONS:
        lines = (data / "mtragun-human" / "retrieval_tasks" / "qrels" / f"{name}.tsv").read_text().splitlines()
        for line in lines[1:]:
            qid, doc, score = line.split("\t")
            if int(score) > 0:
                qrels[qid].add(doc)
    corpus: dict[str, dict[str, str]] = defaultdict(dict)
    tasks: list[Task] = []
    for line in (data / "mtragun-human" / "generation_tasks" / "reference.jsonl").read_text().splitlines():
        row = json.loads(line)
        collection = str(row["Collection"]).lower()
        for ctx in row["contexts"]:
            corpus[collection][ctx["document_id"]] = ctx["text"].strip()
        if row["task_id"] in qrels:
            turns = [(t["speaker"], t["text"]) for t in row["input"]]
            tasks.append(Task(row["task_id"], collection, turns, qrels[row["task_id"]]))
    return dict(corpus), tasks


def recall_at(ranked: list[str], relevant: set[str], k: int) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant)


def ndcg_at(ranked: list[str], relevant: set[str], k: int) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench retrieval_mtrag")
    parser.add_argument("--collections", default=",".join(COLLECTIONS))
    parser.add_argument("--limit", type=int, default=0, help="at most N tasks per collection (0: all)")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the index here (re-runs embed nothing)")
    args = parser.parse_args(argv)

    from core.settings import Settings
    from core.types import Author, Turn, Visibility
    from knowledge.documents import Document
    from knowledge.index.base import Filters
    from knowledge.rewrite import conversation_rewrite
    from server.container import Services

    corpus, tasks = read_tasks()
    wanted = [c for c in args.collections.split(",") if c]
    rows: list[list[object]] = []
    totals: dict[str, list[tuple[float, float]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        services = Services(Settings(environment="test", data_dir=data_dir, chat_backend="fake"))  # type: ignore[call-arg]
        for collection in wanted:
            start = time.perf_counter()
            docs = [
                Document(id=pid, title=text.split("\n", 1)[0][:120], body=text, source=f"mtrag:{collection}")
                for pid, text in corpus[collection].items()
            ]
            report = services.kb.load_documents(collection, docs)
            load_s = time.perf_counter() - start
            todo = [t for t in tasks if t.collection == collection]
            if args.limit:
                todo = todo[: args.limit]
            filters = Filters(collection, frozenset({Visibility.public}))
            retriever = services.retriever
            methods = {
                "bm25": (retriever.with_mode("keyword"), False),
                "dense": (retriever.with_mode("dense"), False),
                "hybrid": (retriever.with_mode("hybrid"), False),
                "hybrid + rewrite": (retriever.with_mode("hybrid"), True),
            }
            scores: dict[str, list[tuple[float, float]]] = defaultdict(list)
            conversations = [
                [Turn(author=Author.customer if s == "user" else Author.bot, text=text) for s, text in task.turns]
                for task in todo
            ]
            lasts = [turns[-1].text for turns in conversations]
            rewrites = [conversation_rewrite(turns) for turns in conversations]
            # All query vectors in two batched calls (not timed here; see retrieval_latency).
            last_vecs = services.embedder.embed(lasts)
            rewrite_vecs = services.embedder.embed(rewrites)
            for n, task in enumerate(todo):
                for name, (method, use_rewrite) in methods.items():
                    queries = [lasts[n], rewrites[n]] if use_rewrite else [lasts[n]]
                    vectors = [last_vecs[n], rewrite_vecs[n]] if use_rewrite else [last_vecs[n]]
                    passages = method.search_many(queries, k=30, filters=filters, query_vectors=vectors)
                    ranked: list[str] = []
                    for p in passages:
                        if p.article_id not in ranked:
                            ranked.append(p.article_id)
                    scores[name].append((recall_at(ranked, task.relevant, 5), ndcg_at(ranked, task.relevant, 10)))
            for name, values in scores.items():
                totals[name].extend(values)
                r5 = sum(v[0] for v in values) / len(values)
                nd = sum(v[1] for v in values) / len(values)
                rows.append([collection, name, len(values), round(r5, 3), round(nd, 3)])
            print(f"{collection}: {len(docs)} passages, {report.chunks_embedded} chunks, loaded in {load_s:.1f}s")
        services.close()
    for name, values in totals.items():
        r5 = sum(v[0] for v in values) / len(values)
        nd = sum(v[1] for v in values) / len(values)
        rows.append(["all", name, len(values), round(r5, 3), round(nd, 3)])
    print_table(["collection", "method", "tasks", "recall@5", "nDCG@10"], rows, title="MTRAG retrieval")
    return 0
