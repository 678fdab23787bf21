"""Clarifying questions: how often the bot would ask, on questions that need one and on questions that do not.

Usage: ``python -m bench bot_clarify [--company DIR] [--mtrag N] [--verbose]``

Runs ``bot.clarify.needs_clarification`` on the first customer message of each case, with the
passages the bot's context builder retrieves (MiniLM, hybrid retrieval, k=4) and no customer
record (an anonymous visitor):

- the demo's suites (``smoke``, ``handoff``, ``personas``): none of them needs a clarifying
  question, so every clarification is a false one;
- ``--company DIR`` (a company folder such as ``../shared/data/companies/brightwater``): its
  ``underspecified`` cases should get one, all other kinds should not;
- ``--mtrag N``: N single-turn MTRAG tasks per label (UNDERSPECIFIED should get one, ANSWERABLE
  should not), from ``mtragun-human`` with its inline passages as the KB.

The baseline, measured in the same run, is the first release's rule (word lists of
Wikipedia-style category nouns, any he/she in a first message, one-word questions over two
articles), kept here only to be measured against.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import tempfile
from collections import defaultdict
from pathlib import Path

import yaml

from bench._mtrag import reference as mtrag_reference
from bench.table import print_table

ROOT = Path(__file__).resolve().parent.parent
SUITES = ROOT / "evals" / "suites"

# The first release's rule, verbatim in substance (bot/clarify.py before issue 13).
_OLD_CATEGORY = re.compile(
    r"\bthe\s+(?:famous\s+|same\s+)?(actor|actress|singer|player|author|writer|book|novel|movie|film|show|series|"
    r"season|team|club|country|state|city|county|park|company|chain|restaurant|animal|breed|hurricane|storm|war|"
    r"president|department|court|loan|school|university|library|stadium|championship|language|flag|song|album|"
    r"band|game|tournament|character|artist|church|museum|river|mountain|island|agency|law|bill|treaty|election|"
    r"disease|drug|car|vehicle)\b(?!\s+(?:of|called|named)\b)",
    re.IGNORECASE,
)
_OLD_DEMONSTRATIVE = re.compile(r"\b(this|that|these|those)\s+([a-z][a-z'-]+)", re.IGNORECASE)
_OLD_PRONOUN = re.compile(r"\b(he|she|him|her|his|hers)\b", re.IGNORECASE)
_OLD_NOT_A_NOUN = frozenset(
    "is was are were will would can could should has have had does did do means mean one ones time times week "
    "month year way much many kind sort type point case and or but if the a an to of in on for with it i you we "
    "they be this that these those there here he she his her its our their your my some any all such same other "
    "take takes mean work works cost costs happen include apply matter help count say come go look sound need".split()
)


def old_rule(question: str, titles: list[str]) -> bool:
    from bot.grounding import content_words

    if any(m.group(2).lower() not in _OLD_NOT_A_NOUN for m in _OLD_DEMONSTRATIVE.finditer(question)):
        return True
    if _OLD_CATEGORY.search(question) or _OLD_PRONOUN.search(question):
        return True
    return len(content_words(question)) <= 1 and len(set(titles)) >= 2


def _demo_questions() -> list[tuple[str, str, bool]]:
    out: list[tuple[str, str, bool]] = []
    for name in ("smoke", "handoff", "personas"):
        data = yaml.safe_load((SUITES / f"{name}.yaml").read_text(encoding="utf-8"))
        for case in data.get("cases", []):
            turns = case.get("turns") or []
            first = turns[0] if turns else None
            if isinstance(first, dict):
                first = first.get("text") or first.get("customer")
            if isinstance(first, str) and first.strip():
                out.append((f"demo/{name}", first, False))
    return out


def _company_questions(folder: Path) -> list[tuple[str, str, bool]]:
    data = yaml.safe_load((folder / "cases.yaml").read_text(encoding="utf-8"))
    return [
        (f"{folder.name}/{c['kind']}", str(c["turns"][0]), c["kind"] == "underspecified")
        for c in data["cases"]
        if c.get("turns")
    ]


def _mtrag(n: int, seed: int = 7) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, bool, str]]]:
    corpus, tasks = mtrag_reference()
    pools: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for t in tasks:
        users = [text for who, text in t.turns if who == "customer"]
        if t.label in ("ANSWERABLE", "UNDERSPECIFIED") and len(users) == 1:
            pools[t.label].append((t.collection, users[0]))
    rng = random.Random(seed)
    picked: list[tuple[str, str, bool, str]] = []
    for label, pool in sorted(pools.items()):
        for collection, text in rng.sample(sorted(pool), min(n, len(pool))):
            picked.append((f"mtrag/{label}", text, label == "UNDERSPECIFIED", f"mtrag-{collection}"))
    return corpus, picked


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench bot_clarify")
    ap.add_argument("--company", type=Path, default=None)
    ap.add_argument("--mtrag", type=int, default=0, help="single-turn MTRAG tasks per label (0: none)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bot.clarify import needs_clarification
    from core.models.fake import DownChatModel
    from core.settings import Settings
    from core.types import Author, Turn
    from knowledge.context import PUBLIC
    from knowledge.documents import Document
    from server.container import Services
    from server.demo import load_demo

    questions: list[tuple[str, str, bool, str]] = [(g, q, w, "larkspur") for g, q, w in _demo_questions()]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(environment="test", data_dir=Path(tmp), demo_dir=ROOT / "demo")  # type: ignore[call-arg]
        services = Services(settings, chat_override=DownChatModel())
        load_demo(services)
        if args.company is not None:
            tenant = re.sub(r"[^a-z0-9_-]", "-", args.company.name.lower())
            services.store.ensure_tenant(tenant, args.company.name, {"languages": ["en"]})
            services.kb.load_folder(tenant, args.company / "kb")
            questions += [(g, q, w, tenant) for g, q, w in _company_questions(args.company)]
        if args.mtrag:
            corpus, picked = _mtrag(args.mtrag)
            for collection, passages in corpus.items():
                docs = [
                    Document(id=pid, title=text.split("\n", 1)[0][:120], body=text, source=f"mtrag:{collection}")
                    for pid, text in passages.items()
                ]
                services.kb.load_documents(f"mtrag-{collection}", docs)
            questions += picked
        rows: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
        for group, text, wanted, tenant in questions:
            ctx = services.context.context(
                tenant, [Turn(author=Author.customer, text=text)], customer_id=None, visibilities=PUBLIC, query=text
            )
            company = args.company.name if args.company is not None and tenant != "larkspur" else ""
            asked = needs_clarification(text, [], ctx.passages, embedder=services.embedder, company=company)
            old = old_rule(text, [p.title for p in ctx.passages])
            rows[group].append((wanted, asked is not None, old))
            if args.verbose and (asked is not None) != wanted:
                print(f"  {group}: {'ASKED' if asked else 'missed'} {text[:90]!r} {asked.options if asked else ''}")
        services.close()
    table: list[list[object]] = []
    for group, marks in sorted(rows.items()):
        wanted = marks[0][0] if marks else False
        new = sum(a for _, a, _ in marks) / len(marks)
        old = sum(o for _, _, o in marks) / len(marks)
        table.append([group, len(marks), "should ask" if wanted else "should not", old, new])
    print_table(
        ["questions", "n", "expected", "first release: asked", "now: asked"],
        table,
        title="Clarifying questions on first messages (anonymous, k=4)",
    )
    return 0
