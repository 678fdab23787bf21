"""Summaries: ROUGE-L vs reference summaries, disposition accuracy, LLM-judge score when a judge is configured.

Usage: ``python -m bench copilot_summaries [--judge-url URL --judge-model NAME] [--generate]``

For every case of the suite the copilot writes the after-contact summary. Same run:

- ``lead baseline``: the customer's first message followed by the last agent/bot message;
- ``extractive``: the copilot's deterministic summary (what the bundled model gets);
- ``generated`` (``--generate``): the abstractive summary from the configured chat model, kept
  only when it passes the copilot's check (needs an instruction-following model).

With ``--judge-url`` (any OpenAI-compatible server) a judge model rates each summary 1-5
against the reference (``prompts/templates/copilot_judge_summary.j2``).
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import yaml

from bench.table import print_table, ratio

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "evals" / "suites" / "summaries.yaml"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench copilot_summaries", description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--generate", action="store_true", help="also score the configured chat model's summaries")
    parser.add_argument("--judge-url", default="", help="OpenAI-compatible base URL of a judge model")
    parser.add_argument("--judge-model", default="default")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from copilot.rouge import rouge_l
    from copilot.summaries import Summarizer, disposition, extractive_summary, follow_ups, tags_for
    from core.models.chat import ChatModel, GenerationParams
    from core.models.fake import ScriptedChatModel
    from core.types import Author, Turn
    from prompts.loader import PromptLoader

    cases = yaml.safe_load(args.suite.read_text(encoding="utf-8"))["cases"]
    prompts = PromptLoader()
    judge: ChatModel | None = None
    if args.judge_url:
        from core.models.openai_compat import OpenAICompatibleChatModel

        judge = OpenAICompatibleChatModel(args.judge_url, args.judge_model)
    chat: ChatModel = ScriptedChatModel()
    if args.generate:
        from core.models import CHAT_MODELS
        from core.settings import Settings

        settings = Settings()
        chat = CHAT_MODELS.create(settings.chat_backend, settings)
    summarizer = Summarizer(chat, prompts)

    def lead(turns: list[Turn]) -> str:
        first = next((t.text for t in turns if t.author == Author.customer), "")
        last = next((t.text for t in reversed(turns) if t.author in (Author.agent, Author.bot)), "")
        return f"{first} {last}".strip()

    def judged(candidate: str, reference: str) -> float | None:
        if judge is None:
            return None
        prompt = prompts.render("copilot_judge_summary", reference=reference, candidate=candidate)
        text = judge.complete(prompt, GenerationParams(max_tokens=4)).text
        m = re.search(r"[1-5]", text)
        return float(m.group()) if m else None

    systems = {"lead baseline": lead, "extractive": extractive_summary}
    if args.generate:
        systems["generated"] = lambda turns: summarizer.summarize(turns).text
    scores: dict[str, list[float]] = {k: [] for k in systems}
    judge_scores: dict[str, list[float]] = {k: [] for k in systems}
    disp_ok, tag_f1 = 0, []
    for case in cases:
        turns = [Turn(author=Author(m["role"]), text=m["text"]) for m in case["messages"]]
        for name, fn in systems.items():
            text = fn(turns)
            scores[name].append(rouge_l(text, case["reference_summary"]).f)
            j = judged(text, case["reference_summary"])
            if j is not None:
                judge_scores[name].append(j)
        promised = follow_ups(turns)
        disp_ok += disposition(turns, promised) == case.get("disposition")
        got, want = set(tags_for(turns)), set(case.get("tags", []))
        inter = len(got & want)
        tag_f1.append(2 * inter / (len(got) + len(want)) if got or want else 1.0)
    n = len(cases)
    base = sum(scores["lead baseline"]) / n
    rows = []
    for name in systems:
        mean = sum(scores[name]) / n
        j = judge_scores[name]
        rows.append([name, n, mean, ratio(mean, base), f"{sum(j) / len(j):.2f}" if j else "no judge configured"])
    print_table(
        ["summary", "conversations", "ROUGE-L F", "vs lead", "LLM judge (1-5)"],
        rows,
        title=f"Summaries on {args.suite.name}",
    )
    print(
        f"after-contact disposition accuracy: {disp_ok}/{n} = {disp_ok / n:.2f}; "
        f"tag F1 (rule tags vs suite tags): {sum(tag_f1) / n:.2f}"
    )
    if not args.generate:
        print("generated summaries not scored: pass --generate with an instruction-following chat model configured")
    return 0
