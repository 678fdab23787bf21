"""Next-best-action accuracy on the ABCD sample flows, against a majority baseline and the oracle-subflow upper bound.

Usage: ``python -m bench copilot_nba [--fake-embedder]``

``../shared/data/abcd_sample`` holds three full ABCD dialogues with the agent's actions and
the policy (``guidelines.json`` + ``kb.json``). At every point where the agent took an
action, the copilot sees the dialogue so far (customer and agent turns) and the actions
already taken, classifies the conversation into a subflow and names the next required
action; it is correct when that equals the action the agent took. Same run:

- ``majority``: the most frequent not-yet-done action over all subflows (no conversation);
- ``oracle subflow``: the gold subflow's next required action (how far the policy itself
  matches what agents did - the ceiling for any classifier).
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

from bench.table import print_table, ratio

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "abcd_sample"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench copilot_nba", description=__doc__.splitlines()[0])
    parser.add_argument("--fake-embedder", action="store_true", help="hashing embedder instead of MiniLM")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from copilot.catalog import from_guidelines
    from copilot.guidelines import load_guidelines
    from copilot.next_action import NextActionAdvisor
    from core.models.embed import MiniLMEmbedder
    from core.models.fake import HashingEmbedder
    from core.types import Author, Turn

    guidelines = load_guidelines(DATA)
    embedder = HashingEmbedder() if args.fake_embedder else MiniLMEmbedder()
    catalog = from_guidelines(guidelines)  # the ABCD layout, imported into an action catalog
    advisor = NextActionAdvisor(catalog, embedder)
    counts = Counter(a for s in guidelines.subflows for a in s.required)
    dialogues = json.loads((DATA / "abcd_sample.json").read_text(encoding="utf-8"))
    correct = Counter[str]()
    subflow_ok = 0
    points = 0
    lines: list[list[object]] = []
    for d in dialogues:
        gold_sub = d["scenario"]["subflow"]
        gold_key = gold_sub if guidelines.get(gold_sub) else gold_sub.rsplit("_", 1)[0]  # timing_4 -> timing
        oracle = guidelines.get(gold_key)
        turns: list[Turn] = []
        done: list[str] = []
        for t in d["delexed"]:
            speaker, action = t["speaker"], t["targets"][2]
            if speaker == "action" and action:
                points += 1
                nba = advisor.advise(turns, done)
                predicted = nba.step if nba else None
                ranked = advisor.rank(turns)
                sub_key = ranked[0].action.key if ranked else "-"
                subflow_ok += sub_key == gold_key
                majority = next((a for a, _ in counts.most_common() if a not in done), None)
                oracle_next = next((a for a in oracle.required if a not in done), None) if oracle else None
                correct["copilot"] += predicted == action
                correct["majority (baseline)"] += majority == action
                correct["oracle subflow (ceiling)"] += oracle_next == action
                lines.append([d["convo_id"], sub_key, gold_key, predicted or "-", action])
                done.append(action)
            elif speaker in ("customer", "agent"):
                turns.append(Turn(author=Author(speaker), text=t["text"]))
    print_table(
        ["dialogue", "predicted subflow", "gold subflow", "predicted action", "agent's action"],
        lines,
        title="Every action point",
    )
    base = correct["majority (baseline)"]
    rows = [
        [k, points, correct[k], correct[k] / points, ratio(correct[k], base)]
        for k in ("copilot", "majority (baseline)", "oracle subflow (ceiling)")
    ]
    print_table(
        ["next best action", "points", "correct", "accuracy", "vs baseline"],
        rows,
        title=f"\nNext-best-action accuracy, {len(dialogues)} ABCD sample dialogues ({embedder.describe()['backend']})",
    )
    print(f"subflow accuracy at the action points: {subflow_ok}/{points} = {subflow_ok / points:.2f}")
    return 0
