"""Knowledge-gap grouping: the cosine cut at which clusters best match question intents (CLINC150, BANKING77).

Usage: ``python -m bench analytics_gaps [--trials 4] [--intents 25] [--embedder minilm|fake]``

A supervisor's gap list is a few dozen topics, some asked many times, many once. Each trial
draws ``--intents`` intents of a public intent data set and 1-10 questions of each (sizes
long-tailed, seeded), embeds them with the Embedder seam, clusters them with
``analytics.gaps.cluster_labels`` at each cut, and scores the grouping against the intents
(adjusted Rand index, V-measure). Two public data sets of different shape: CLINC150
(validation split; 150 intents over 10 domains) and BANKING77 (77 fine-grained intents of one
domain, like one company's questions). The cut is chosen on the mean ARI of both over
"calibration" samples (seed 7) and reported on fresh "check" samples (seed 8); the shipped
``DEFAULT_GAP_SIMILARITY`` is that cut. Data: ``../shared/data`` (see ``evals/datasets.py``).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import time
from collections import defaultdict
from pathlib import Path

from bench.table import print_table

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CUTS = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75]


def clinc150() -> dict[str, list[str]]:
    data = json.loads((DATA / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    out: dict[str, list[str]] = defaultdict(list)
    for text, label in data["val"]:
        out[label].append(text)
    return out


def banking77() -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    with (DATA / "banking77" / "train.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["category"]].append(row["text"])
    return out


def sample(by_intent: dict[str, list[str]], intents: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """``intents`` intents, each with 1-10 questions (long-tailed: half of them 1-2)."""
    chosen = rng.sample(sorted(by_intent), intents)
    texts, labels = [], []
    for label in chosen:
        size = min(len(by_intent[label]), rng.choice([1, 1, 2, 2, 3, 4, 5, 6, 8, 10]))
        for text in rng.sample(by_intent[label], size):
            texts.append(text)
            labels.append(label)
    return texts, labels


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench analytics_gaps")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--intents", type=int, default=25)
    parser.add_argument("--embedder", choices=["minilm", "fake"], default="minilm")
    args = parser.parse_args(argv)

    import tempfile

    from sklearn.metrics import adjusted_rand_score, v_measure_score

    from analytics.gaps import DEFAULT_GAP_SIMILARITY, cluster_labels
    from core.models.embed import EMBEDDERS
    from core.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        embedder = EMBEDDERS.create(args.embedder, Settings(environment="test", data_dir=Path(tmp)))  # type: ignore[call-arg]

    def run(seed: int) -> tuple[dict[str, dict[float, list[tuple[float, float, int]]]], dict[str, tuple[float, float]]]:
        scores: dict[str, dict[float, list[tuple[float, float, int]]]] = {}
        shape: dict[str, tuple[float, float]] = {}
        for name, load in (("clinc150", clinc150), ("banking77", banking77)):
            by_intent = load()
            rng = random.Random(seed)
            scores[name] = {cut: [] for cut in CUTS}
            counts = []
            for _ in range(args.trials):
                texts, labels = sample(by_intent, args.intents, rng)
                t0 = time.perf_counter()
                vectors = embedder.embed(texts)
                embed_s = time.perf_counter() - t0
                counts.append((len(texts), len(set(labels))))
                for cut in CUTS:
                    found = cluster_labels(vectors, cut)
                    scores[name][cut].append(
                        (adjusted_rand_score(labels, found), v_measure_score(labels, found), len(set(found.tolist())))
                    )
                print(f"seed {seed} {name}: {len(texts)} questions embedded in {embed_s:.2f} s")
            shape[name] = (statistics.fmean(n for n, _ in counts), statistics.fmean(k for _, k in counts))
        return scores, shape

    def mean(scores: dict[str, dict[float, list[tuple[float, float, int]]]], name: str, cut: float, i: int) -> float:
        return statistics.fmean(s[i] for s in scores[name][cut])

    calib, _ = run(7)
    best = max(CUTS, key=lambda c: mean(calib, "clinc150", c, 0) + mean(calib, "banking77", c, 0))
    check, shape = run(8)
    rows = []
    for cut in CUTS:
        marks = ("<- chosen on the calibration samples" if cut == best else "") + (
            " (shipped)" if cut == DEFAULT_GAP_SIMILARITY else ""
        )
        rows.append(
            [
                cut,
                (mean(calib, "clinc150", cut, 0) + mean(calib, "banking77", cut, 0)) / 2,
                mean(check, "clinc150", cut, 0),
                mean(check, "clinc150", cut, 1),
                mean(check, "clinc150", cut, 2),
                mean(check, "banking77", cut, 0),
                mean(check, "banking77", cut, 1),
                mean(check, "banking77", cut, 2),
                marks.strip() or "-",
            ]
        )
    print_table(
        ["cut", "calib ARI", "clinc ARI", "clinc V", "clinc k", "bank ARI", "bank V", "bank k", ""],
        rows,
        title=(
            f"Gap grouping vs intents ({args.embedder}; {args.trials} trials per set and seed; check samples: "
            f"clinc150 {shape['clinc150'][0]:.0f} questions / {shape['clinc150'][1]:.0f} intents, "
            f"banking77 {shape['banking77'][0]:.0f} / {shape['banking77'][1]:.0f})"
        ),
    )
    print(f"\nchosen cut: {best}; shipped DEFAULT_GAP_SIMILARITY: {DEFAULT_GAP_SIMILARITY}")
    return 0
