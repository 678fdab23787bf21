"""Intent accuracy on banking77 (full, 10-shot) and clinc150 (in-scope accuracy, OOS recall), with training time.

Usage: ``python -m bench bot_intents [--holdout 0.2] [--seed 13] [--skip-clinc] [--skip-banking]``

banking77 ships only ``train.csv`` here, so a stratified ``--holdout`` share of it is the
test set; "full" trains on the rest, "10-shot" on 10 examples per intent drawn from the rest.
clinc150 (``data_full.json``): trained on ``train``, the out-of-scope threshold is picked
on ``val`` + ``oos_val`` (best in-scope accuracy x OOS recall balance), reported on ``test``
+ ``oos_test``; both figures are also given at the shipped default threshold
(``IntentConfig().oos_threshold``), which is what a tenant gets. Every figure is computed
for the baseline (TF-IDF only) and for the shipped classifier (MiniLM + TF-IDF); embeddings
are computed once per text and shared.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.table import print_table, ratio
from bot.intents import IntentClassifier, IntentConfig
from core.models.embed import MiniLMEmbedder

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


class CachedEmbedder:
    """Embeds every text once per run (the bench trains several classifiers on the same texts)."""

    name = "minilm"
    dim = 384

    def __init__(self) -> None:
        self.inner = MiniLMEmbedder(batch_size=128)
        self.cache: dict[str, np.ndarray] = {}
        self.seconds = 0.0

    def warm(self, texts: Sequence[str]) -> None:
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        start = time.perf_counter()
        for i in range(0, len(todo), 1024):
            batch = todo[i : i + 1024]
            for t, v in zip(batch, self.inner.embed(batch), strict=True):
                self.cache[t] = v
        self.seconds += time.perf_counter() - start

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.warm(texts)
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def describe(self) -> dict[str, object]:
        return {"backend": "minilm"}


class NoEmbedder(CachedEmbedder):
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.zeros((len(texts), 1), np.float32)


def _split(
    rows: list[tuple[str, str]], holdout: float, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    by: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in rows:
        by[r[1]].append(r)
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted(by):
        items = by[label][:]
        rng.shuffle(items)
        k = max(1, round(len(items) * holdout))
        test += items[:k]
        train += items[k:]
    return train, test


def _few_shot(rows: list[tuple[str, str]], k: int, seed: int) -> list[tuple[str, str]]:
    by: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in rows:
        by[r[1]].append(r)
    rng = random.Random(seed)
    return [r for label in sorted(by) for r in rng.sample(by[label], min(k, len(by[label])))]


def _fit(emb: CachedEmbedder, rows: list[tuple[str, str]], tfidf: bool, threshold: float = 0.0) -> IntentClassifier:
    cfg = IntentConfig(oos_threshold=threshold, use_tfidf=tfidf)
    clf = IntentClassifier(emb, cfg)
    start = time.perf_counter()
    clf.fit([t for t, _ in rows], [y for _, y in rows])
    clf.train_seconds = time.perf_counter() - start
    return clf


def _accuracy(clf: IntentClassifier, rows: list[tuple[str, str]]) -> float:
    probs = clf.predict_proba([t for t, _ in rows])
    pred = [clf.labels[int(i)] for i in probs.argmax(axis=1)]
    return float(np.mean([p == y for p, (_, y) in zip(pred, rows, strict=True)]))


def _scope(
    clf: IntentClassifier, test: list[list[str]], oos_test: list[list[str]], threshold: float
) -> tuple[float, float]:
    """(in-scope accuracy, out-of-scope recall): an in-scope text counts only when kept and right."""
    probs = clf.predict_proba([t for t, _ in test])
    pred = [clf.labels[int(i)] for i in probs.argmax(axis=1)]
    kept = probs.max(axis=1) >= threshold
    in_acc = float(np.mean([p == y and k for p, (_, y), k in zip(pred, test, kept, strict=True)]))
    oos_rec = float(np.mean(clf.predict_proba([t for t, _ in oos_test]).max(axis=1) < threshold))
    return in_acc, oos_rec


def banking(emb: CachedEmbedder, holdout: float, seed: int) -> list[list[object]]:
    with (DATA / "banking77" / "train.csv").open(encoding="utf-8") as fh:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(fh)]
    train, test = _split(rows, holdout, seed)
    shot = _few_shot(train, 10, seed)
    t0 = time.perf_counter()
    emb.warm([t for t, _ in rows])
    embed_s = time.perf_counter() - t0
    out: list[list[object]] = []
    for setting, data in (("full", train), ("10-shot", shot)):
        base = _fit(NoEmbedder(), data, tfidf=True)
        ours = _fit(emb, data, tfidf=True)
        b_acc, o_acc = _accuracy(base, test), _accuracy(ours, test)
        # training time = embedding the training texts + fitting (embedding share measured above)
        embed_train = embed_s * len(data) / len(rows)
        out.append(
            [
                f"banking77 {setting} ({len(data)} train / {len(test)} test)",
                b_acc,
                o_acc,
                ratio(o_acc, b_acc),
                round(embed_train + ours.train_seconds, 1),
            ]
        )
    return out


def clinc(emb: CachedEmbedder) -> list[list[object]]:
    d = json.loads((DATA / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    train = [(t, y) for t, y in d["train"]]
    val, oos_val = d["val"], d["oos_val"]
    test, oos_test = d["test"], d["oos_test"]
    t0 = time.perf_counter()
    emb.warm([t for t, _ in train + val + oos_val + test + oos_test])
    embed_s = time.perf_counter() - t0
    n_all = len(train) + len(val) + len(oos_val) + len(test) + len(oos_test)
    out: list[list[object]] = []
    shipped = IntentConfig().oos_threshold
    results: dict[str, tuple[float, float, float]] = {}
    at_shipped: dict[str, tuple[float, float]] = {}
    for name, e, tfidf in (("baseline", NoEmbedder(), True), ("ours", emb, True)):
        clf = _fit(e, train, tfidf=tfidf)
        pv = clf.predict_proba([t for t, _ in val]).max(axis=1)
        po = clf.predict_proba([t for t, _ in oos_val]).max(axis=1)
        # threshold: maximise (in-scope kept) + (oos rejected) on validation
        grid = np.linspace(0.05, 0.95, 91)
        best = float(max(grid, key=lambda th: float(np.mean(pv >= th) + np.mean(po < th))))
        results[name] = (*_scope(clf, test, oos_test, best), best)
        at_shipped[name] = _scope(clf, test, oos_test, shipped)
        if name == "ours":
            secs = embed_s * len(train) / n_all + clf.train_seconds
    b, o = results["baseline"], results["ours"]
    sb, so = at_shipped["baseline"], at_shipped["ours"]
    out.append(
        [
            f"clinc150 in-scope accuracy (th={o[2]:.2f}; base th={b[2]:.2f})",
            b[0],
            o[0],
            ratio(o[0], b[0]),
            round(secs, 1),
        ]
    )
    out.append(["clinc150 out-of-scope recall", b[1], o[1], ratio(o[1], b[1]), ""])
    out.append([f"clinc150 in-scope accuracy (shipped th={shipped:.2f})", sb[0], so[0], ratio(so[0], sb[0]), ""])
    out.append([f"clinc150 out-of-scope recall (shipped th={shipped:.2f})", sb[1], so[1], ratio(so[1], sb[1]), ""])
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench bot_intents")
    ap.add_argument("--holdout", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--skip-clinc", action="store_true")
    ap.add_argument("--skip-banking", action="store_true")
    args = ap.parse_args(argv)
    emb = CachedEmbedder()
    rows = [] if args.skip_banking else banking(emb, args.holdout, args.seed)
    if not args.skip_clinc:
        rows += clinc(emb)
    print_table(
        ["setting", "baseline tfidf", "minilm+tfidf", "ratio", "train s (embed+fit)"],
        rows,
        title="Intent classification (logistic regression; baseline = TF-IDF only, same split)",
    )
    print(f"MiniLM embedding time for all texts: {emb.seconds:.1f}s")
    return 0
