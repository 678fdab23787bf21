"""MTRAG-UN reference tasks as the benches read them (``../shared/data/mtrag``): each
collection's passages and every task with its answerability label, turns and reference answers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

REFERENCE = Path(__file__).resolve().parent.parent / ".." / "shared" / "data" / "mtrag" / "mtragun-human"
REFERENCE = REFERENCE / "generation_tasks" / "reference.jsonl"


@dataclass(frozen=True)
class Task:
    collection: str  # clapnq | fiqa | govt | cloud (lower case)
    label: str  # ANSWERABLE | UNANSWERABLE | PARTIAL | UNDERSPECIFIED
    turns: list[tuple[str, str]]  # (customer | bot, text), the last one the question
    targets: list[str]  # reference answers


def reference(path: Path = REFERENCE) -> tuple[dict[str, dict[str, str]], list[Task]]:
    """(collection -> document id -> passage text, the tasks in file order)."""
    corpus: dict[str, dict[str, str]] = {}
    tasks: list[Task] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        collection = str(row["Collection"]).lower()
        for ctx in row["contexts"]:
            corpus.setdefault(collection, {})[ctx["document_id"]] = ctx["text"].strip()
        turns = [("customer" if t["speaker"] == "user" else "bot", t["text"]) for t in row["input"]]
        targets = [t["text"] for t in row.get("targets") or []]
        tasks.append(Task(collection, row["answerability"][0], turns, targets))
    return corpus, tasks
