"""Suites generated from the public datasets in ``../shared/data`` (never copied into the repo).

Each builder returns the cases, the KB documents they need (a temporary KB per run) and,
for intent suites, the training examples. Sampling is seeded.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from core.types import Visibility
from evals.errors import CaseError
from evals.injection import build_injection_cases
from evals.suite import Case, Expect, Source
from knowledge.documents import Document

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@dataclass
class Built:
    cases: list[Case]
    documents: list[Document] = field(default_factory=list)
    train: tuple[list[str], list[str]] | None = None  # intent suites: (texts, labels)
    total: int = 0  # cases available before sampling


def _need(path: Path) -> Path:
    if not path.exists():
        raise CaseError(f"{path} is missing; the dataset suites read ../shared/data next to the repository.")
    return path


def _sample(cases: list[Case], limit: int | None, seed: int) -> list[Case]:
    if limit is None or limit >= len(cases):
        return cases
    picked = random.Random(seed).sample(range(len(cases)), limit)
    return [cases[i] for i in sorted(picked)]


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value] if value else []


def _title(text: str) -> str:
    first = text.strip().split("\n", 1)[0].strip()
    return (first[:80] + "…") if len(first) > 80 else first or "Passage"


def mtrag(source: Source, limit: int | None, seed: int, data_dir: Path) -> Built:
    collection = source.collection or "clapnq"
    path = _need(data_dir / "mtrag" / "mtragun-human" / "generation_tasks" / "reference.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("Collection") == collection]
    if not rows:
        raise CaseError(f"mtrag has no collection {collection!r}; use clapnq, govt or fiqa")
    docs: dict[str, Document] = {}
    cases: list[Case] = []
    for r in rows:
        for c in r["contexts"]:
            docs.setdefault(
                c["document_id"],
                Document(
                    id=c["document_id"],
                    title=_title(c["text"]),
                    body=c["text"].strip(),
                    # one file per passage: the KB's per-file limits apply to each, not to the collection
                    source=f"mtrag/{collection}/{c['document_id']}",
                ),
            )
        users = [t["text"] for t in r["input"] if t["speaker"] == "user"]
        label = (r.get("answerability") or [""])[0]
        abstain = {"ANSWERABLE": False, "UNANSWERABLE": True}.get(label)
        target = (r.get("targets") or [{}])[0].get("text")
        cases.append(
            Case(
                id=r["task_id"].replace("<::>", "-t"),
                turns=users[-2:],  # the last two user turns: context without replaying the whole dialogue
                expect=Expect(
                    articles=[c["document_id"] for c in r["contexts"]] if label != "UNANSWERABLE" else [],
                    answer=target if label != "UNANSWERABLE" else None,
                    abstain=abstain,
                    contexts=[c["text"] for c in r["contexts"]] if label != "UNANSWERABLE" else [],
                ),
                tags=[collection, label.lower(), *[str(q).lower() for q in _as_list(r.get("Question Type"))]],
            )
        )
    return Built(_sample(cases, limit, seed), list(docs.values()), total=len(cases))


def dstc10(source: Source, limit: int | None, seed: int, data_dir: Path) -> Built:
    base = _need(data_dir / "dstc10_track2_kgd")
    knowledge = json.loads((base / "knowledge.json").read_text(encoding="utf-8"))
    logs = json.loads((base / "val" / "logs.json").read_text(encoding="utf-8"))
    labels = json.loads((base / "val" / "labels.json").read_text(encoding="utf-8"))
    cases: list[Case] = []
    needed: set[tuple[str, str]] = set()
    for i, (log, label) in enumerate(zip(logs, labels, strict=True)):
        if not label.get("target"):
            continue
        users = [t["text"] for t in log if t["speaker"] == "U"]
        refs = label.get("knowledge") or []
        ids = [f"{k['domain']}-{k['entity_id']}-{k['doc_id']}" for k in refs]
        for k in refs:
            needed.add((k["domain"], str(k["entity_id"])))
        cases.append(
            Case(
                id=f"dstc10-{i:03d}",
                turns=users[-2:],
                expect=Expect(articles=ids, answer=label.get("response"), suggest_articles=ids),
                tags=sorted({k["domain"] for k in refs}),
            )
        )
    picked = _sample(cases, limit, seed)
    # The KB: every FAQ snippet of the entities the picked cases talk about (the distractors
    # are the other FAQs of those entities, which is what makes the task hard).
    wanted = {tuple(a.split("-", 2)[:2]) for c in picked for a in c.expect.articles}
    docs: list[Document] = []
    for domain, entities in knowledge.items():
        for entity_id, entity in entities.items():
            if (domain, entity_id) not in wanted:
                continue
            name = entity.get("name") or domain
            for doc_id, doc in entity["docs"].items():
                docs.append(
                    Document(
                        id=f"{domain}-{entity_id}-{doc_id}",
                        title=f"{name}: {doc['title']}",
                        body=doc["body"],
                        visibility=Visibility.public,
                        source=f"dstc10/{domain}-{entity_id}-{doc_id}",
                    )
                )
    return Built(picked, docs, total=len(cases))


def banking77(source: Source, limit: int | None, seed: int, data_dir: Path) -> Built:
    path = _need(data_dir / "banking77" / "train.csv")
    with path.open(encoding="utf-8") as fh:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(fh)]
    rng = random.Random(seed)
    rng.shuffle(rows)
    held = max(1, len(rows) // 5)  # only the train split is here: hold out 20% as the test set
    test, train = rows[:held], rows[held:]
    cases = [
        Case(id=f"b77-{i:05d}", kind="intent", turns=[t], expect=Expect(intent=label), tags=[label])
        for i, (t, label) in enumerate(test)
    ]
    return Built(
        _sample(cases, limit, seed), train=([t for t, _ in train], [lab for _, lab in train]), total=len(cases)
    )


def clinc150(source: Source, limit: int | None, seed: int, data_dir: Path) -> Built:
    # split "small": 50 training utterances per intent (CLINC's own reduced-train variant), so
    # training fits the embedded default; "full" (100 per intent) is selectable in the suite file.
    variant = {"small": "data_small.json", "full": "data_full.json"}.get(source.split or "small")
    if variant is None:
        raise CaseError(f"clinc150 split must be 'small' or 'full', not {source.split!r}")
    data = json.loads(_need(data_dir / "clinc150" / variant).read_text(encoding="utf-8"))
    train = data["train"] + data["oos_train"]
    test = data["test"] + data["oos_test"]
    cases = [
        Case(id=f"clinc-{i:05d}", kind="intent", turns=[t], expect=Expect(intent=label), tags=[label])
        for i, (t, label) in enumerate(test)
    ]
    return Built(
        _sample(cases, limit, seed), train=([t for t, _ in train], [lab for _, lab in train]), total=len(cases)
    )


def injection(source: Source, limit: int | None, seed: int, data_dir: Path) -> Built:
    cases, total = build_injection_cases(source, limit, seed, data_dir)
    return Built(cases, total=total)


BUILDERS = {
    "mtrag": mtrag,
    "dstc10": dstc10,
    "banking77": banking77,
    "clinc150": clinc150,
    "injection": injection,
}


def build(source: Source, limit: int | None, seed: int, data_dir: Path | None = None) -> Built:
    return BUILDERS[source.dataset](source, limit, seed, data_dir or DATA_DIR)
