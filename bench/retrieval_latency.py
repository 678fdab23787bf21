"""Hybrid retrieval latency at 100k chunks (p50/p95) without and with the query embedding, vs BM25 and dense alone.

Usage: ``python -m bench retrieval_latency [--chunks 100000] [--queries 200]``

The index holds synthetic chunks built from the DSTC10 snippets (each snippet repeated
with a branch label until the count is reached; 20% internal) with random unit vectors -
only the index part is synthetic. Query vectors come from the real MiniLM model, and the
"with embedding" figure embeds every query in the timed path. Filters (tenant, public
only, live versions) are applied inside both searches, as in production.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.retrieval_dstc10 import read_queries, read_snippets
from bench.table import percentile, print_table

TENANT = "latency"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench retrieval_latency")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)

    from core.settings import Settings
    from core.types import Visibility
    from knowledge.documents import Chunk
    from knowledge.index.base import Filters
    from server.container import Services

    snippets = read_snippets()
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        services = Services(Settings(environment="test", data_dir=Path(tmp), chat_backend="fake"))  # type: ignore[call-arg]
        chunks: list[Chunk] = []
        for n in range(args.chunks):
            article, title, body = snippets[n % len(snippets)]
            branch = n // len(snippets)
            chunks.append(
                Chunk(
                    tenant_id=TENANT,
                    article_id=f"{article}-b{branch}",
                    version=1,
                    ordinal=0,
                    title=f"{title} (branch {branch})",
                    section=title,
                    text=body,
                    visibility=Visibility.internal if n % 5 == 0 else Visibility.public,
                )
            )
        vectors = rng.standard_normal((len(chunks), services.embedder.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        start = time.perf_counter()
        services.keyword.count(TENANT)  # an empty BM25 state, then incremental adds
        services.index.upsert(TENANT, chunks, vectors)
        services.keyword.add(TENANT, chunks)
        services.live_versions.flip(TENANT, {c.article_id: 1 for c in chunks})
        build_s = time.perf_counter() - start

        texts = [t for log, _ in read_queries() for _, t in log if len(t.split()) >= 3][: args.queries]
        services.embedder.embed(texts[:8])  # load the model
        filters = Filters(TENANT, frozenset({Visibility.public}))
        embed_ms: list[float] = []
        qvecs = []
        for text in texts:
            t0 = time.perf_counter()
            qvecs.append(services.embedder.embed([text])[0])
            embed_ms.append((time.perf_counter() - t0) * 1000)

        def timed(mode: str, with_embedding: bool) -> list[float]:
            retriever = services.retriever.with_mode(mode)
            retriever.search(texts[0], k=5, filters=filters, query_vector=qvecs[0])  # warm caches
            out = []
            for text, vec in zip(texts, qvecs, strict=True):
                t0 = time.perf_counter()
                retriever.search(text, k=5, filters=filters, query_vector=None if with_embedding else vec)
                out.append((time.perf_counter() - t0) * 1000)
            return out

        runs = {
            "BM25 only": timed("keyword", False),
            "dense only (Chroma), no embedding": timed("dense", False),
            "hybrid, no embedding": timed("hybrid", False),
            "hybrid, with query embedding": timed("hybrid", True),
            "query embedding alone (MiniLM)": embed_ms,
        }
        base = percentile(runs["hybrid, no embedding"], 95)
        rows = [
            [
                name,
                len(ms),
                round(percentile(ms, 50), 1),
                round(percentile(ms, 95), 1),
                f"{percentile(ms, 95) / base:.2f}",
            ]
            for name, ms in runs.items()
        ]
        print(f"index: {len(chunks)} chunks built in {build_s:.1f}s (Chroma upsert + BM25)")
        print_table(
            ["path", "queries", "p50 ms", "p95 ms", "p95 / hybrid"],
            rows,
            title=f"Retrieval latency at {len(chunks)} chunks (public only, k=5)",
        )
        services.close()
    return 0
