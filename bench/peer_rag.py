"""Peer: the naive LangChain RAG chain a user would write vs Switchboard, same questions, same run.

Usage: ``python -m bench peer_rag [--mtrag 30] [--seed 7] [--company DIR] [--data-dir DIR]``

The peer is what the LangChain tutorials build: the help-center articles split by
``RecursiveCharacterTextSplitter`` (1,000 characters, 100 overlap) into a Chroma
collection with the same MiniLM embeddings (``HuggingFaceEmbeddings`` on the bundled
model), a retriever returning the top 5 chunks stuffed into one prompt, and the same
bundled GGUF model through ``LlamaCpp`` writing at most 128 new tokens. It sees the
customer's last message only.

Switchboard is the product on the embedded default (``Services`` with the bundled
models): the company folder onboarded as ``switchboard evals company`` does (KB, CRM,
tenant), every conversation played turn by turn through ``Bot.respond``.

Questions:

- the answerable cases of a company folder (default: the Brightwater dev set): fact
  recall = the share of expected facts found (the folder's normalisation, README rules);
- ``--mtrag`` seeded ANSWERABLE tasks of MTRAG (one KB per collection from its inline
  passages): token F1 of the answer against the reference answer.

Both: p50/p95 seconds per question (the last turn; Switchboard's earlier turns are played
but not timed), and unsupported-fact answers: answers that state an amount, number or
date that none of their sources holds (Switchboard: the articles it cites and the
customer's own record; the peer: the five chunks it was given), scored by the company
scorer's own check (``evals.company.sources``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench._mtrag import reference as mtrag_reference
from bench.table import percentile, print_table, ratio

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".." / "shared" / "data"
COMPANY = DATA / "companies" / "brightwater"
PROMPT = (
    "Use the following pieces of context to answer the question at the end. If you don't know the answer, "
    "just say that you don't know, don't try to make up an answer.\n\n{context}\n\n"
    "Question: {question}\nHelpful Answer:"
)


@dataclass
class Question:
    source: str  # company | mtrag-<collection>
    tenant: str
    turns: list[str]  # customer turns (MTRAG: user turns with the agent turns between them)
    history: list[tuple[str, str]] = field(default_factory=list)  # MTRAG: (role, text) before the last turn
    customer_id: str | None = None
    facts: list[str] = field(default_factory=list)
    reference: str = ""


@dataclass
class Result:
    seconds: float
    text: str
    score: float  # fact recall or token F1
    unsupported: bool


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def token_f1(answer: str, reference: str) -> float:
    a, r = _tokens(answer), _tokens(reference)
    common = sum((Counter(a) & Counter(r)).values())
    if not a or not r or not common:
        return 0.0
    p, rc = common / len(a), common / len(r)
    return 2 * p * rc / (p + rc)


def mtrag_questions(n: int, seed: int) -> tuple[dict[str, dict[str, str]], list[Question]]:
    corpus, tasks = mtrag_reference()
    pool = [
        Question(
            f"mtrag-{t.collection}",
            f"mtrag-{t.collection}",
            [t.turns[-1][1]],
            history=t.turns[:-1],
            reference=t.targets[0],
        )
        for t in tasks
        if t.label == "ANSWERABLE" and t.targets
    ]
    pool.sort(key=lambda q: (q.source, q.turns[0]))
    return corpus, random.Random(seed).sample(pool, min(n, len(pool)))


def company_questions(folder: Path) -> list[Question]:
    from evals.company.cases import load_case_file

    cases = load_case_file(folder)
    return [
        Question("company", "", list(c.turns), customer_id=c.customer_id, facts=list(c.expect.facts))
        for c in cases.cases
        if c.kind == "answerable"
    ]


class NaiveChain:
    """The LangChain chain (LCEL): retriever (top 5) | stuff prompt | LlamaCpp (128 tokens)."""

    def __init__(self, persist: Path) -> None:
        from langchain_community.embeddings import HuggingFaceEmbeddings
        from langchain_community.llms import LlamaCpp

        from core.models.embed import bundled_minilm_path
        from core.models.llama_cpp import bundled_gguf_path

        self.persist = persist
        self.embeddings = HuggingFaceEmbeddings(model_name=str(bundled_minilm_path()))
        self.llm = LlamaCpp(
            model_path=str(bundled_gguf_path()), n_ctx=2048, max_tokens=128, temperature=0.0, n_threads=2, verbose=False
        )
        self.stores: dict[str, object] = {}

    def load(self, name: str, texts: dict[str, str]) -> None:
        from langchain_community.vectorstores import Chroma
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100)
        docs = splitter.split_documents(
            [Document(page_content=t, metadata={"source": sid}) for sid, t in texts.items()]
        )
        self.stores[name] = Chroma.from_documents(
            docs,
            self.embeddings,
            collection_name=re.sub(r"[^a-zA-Z0-9_-]", "_", name),
            persist_directory=str(self.persist),
        )

    def ask(self, name: str, question: str) -> tuple[str, list[str]]:
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import PromptTemplate
        from langchain_core.runnables import RunnablePassthrough

        retriever = self.stores[name].as_retriever(search_kwargs={"k": 5})  # type: ignore[attr-defined]
        given: list[str] = []

        def stuff(docs: list[object]) -> str:
            given[:] = [d.page_content for d in docs]  # type: ignore[attr-defined]
            return "\n\n".join(given)

        chain = (
            {"context": retriever | stuff, "question": RunnablePassthrough()}
            | PromptTemplate.from_template(PROMPT)
            | self.llm
            | StrOutputParser()
        )
        return str(chain.invoke(question)).strip(), list(given)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench peer_rag", description=__doc__.splitlines()[0])
    ap.add_argument("--mtrag", type=int, default=30, help="MTRAG answerable tasks (0: none)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--company", type=Path, default=COMPANY, help="a company folder (cases.yaml, kb/, crm.json)")
    ap.add_argument("--no-company", action="store_true")
    ap.add_argument("--data-dir", type=Path, default=None, help="keep Switchboard's data dir and the peer's Chroma")
    ap.add_argument("--out", type=Path, default=None, help="write every answer to this JSON file")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from datetime import datetime

    from bot.errors import HandoffRequired
    from bot.state import BotMemory
    from core.types import Author, Turn
    from evals.company.normalize import find_all
    from evals.company.sources import CompanySources
    from knowledge.documents import Document
    from server.cli.company import CompanyRun, business_clock
    from server.cli.evals import eval_settings
    from server.container import Services

    questions: list[Question] = []
    corpus: dict[str, dict[str, str]] = {}
    if args.mtrag:
        corpus, questions = mtrag_questions(args.mtrag, args.seed)
    company: list[Question] = [] if args.no_company else company_questions(args.company)
    with tempfile.TemporaryDirectory(prefix="sb-peer-") as tmp:
        base = args.data_dir or Path(tmp)
        fresh = not (base / "switchboard").exists()
        (base / "switchboard").mkdir(parents=True, exist_ok=True)
        clock = [datetime.now()]
        settings = eval_settings(base / "switchboard", kb_max_seconds_per_file=3600.0)  # a loaded machine is slow
        services = Services(settings, clock_override=lambda: clock[0])
        peer = NaiveChain(base / "peer-chroma")
        try:
            t0 = time.perf_counter()
            sources: CompanySources | None = None
            if company:
                from evals.company.cases import load_case_file

                cases = load_case_file(args.company)
                run = CompanyRun(args.company.resolve(), cases, services, clock)
                if fresh:
                    run.onboard()
                else:
                    import yaml

                    from core.tenancy.registry import TenantRegistry

                    data = yaml.safe_load((args.company / "tenant.yaml").read_text(encoding="utf-8"))
                    run.tenant_id = str(data.get("id") or data.get("tenant", {}).get("id"))
                    run.config = TenantRegistry(services.store).find(run.tenant_id)
                assert run.config is not None
                clock[0], _ = business_clock(run.config, cases.reference_date)
                sources = run.sources()
                public = {a: t for a, t in sources.articles.items() if not sources.is_internal(a)}
                peer.load("company", public)
                for q in company:
                    q.tenant = run.tenant_id
            for collection, passages in corpus.items():
                if fresh:
                    docs = [
                        Document(id=pid, title=text.split("\n", 1)[0][:120], body=text)
                        for pid, text in passages.items()
                    ]
                    services.kb.load_documents(f"mtrag-{collection}", docs)
                peer.load(f"mtrag-{collection}", passages)
            print(f"setup (KBs: Switchboard and the peer's Chroma) {time.perf_counter() - t0:.0f}s", flush=True)
            everything = company + questions

            def switchboard(q: Question) -> tuple[float, str, list[str], list[str]]:
                memory = BotMemory()
                turns: list[Turn] = [
                    Turn(author=Author.customer if r == "customer" else Author.bot, text=t) for r, t in q.history
                ]
                seconds, text, cited = 0.0, "", []
                for said in q.turns:
                    turns.append(Turn(author=Author.customer, text=said))
                    start = time.perf_counter()
                    try:
                        reply = services.bot.respond(
                            q.tenant, turns, customer_id=q.customer_id, memory=memory, now=clock[0], conversation_id="p"
                        )
                        text, cited = reply.text, [c.article_id for c in reply.citations]
                    except HandoffRequired as exc:
                        text, cited = exc.customer_message, []
                    seconds = time.perf_counter() - start
                    turns.append(Turn(author=Author.bot, text=text))
                support = [
                    sources.articles.get(a, "") if sources else corpus.get(q.source[6:], {}).get(a, "") for a in cited
                ]
                if any(a not in (sources.articles if sources else corpus.get(q.source[6:], {})) for a in cited):
                    support.append(sources.customer_text(q.customer_id) if sources and q.customer_id else "")
                return seconds, text, support, q.turns

            def naive(q: Question) -> tuple[float, str, list[str], list[str]]:
                start = time.perf_counter()
                text, given = peer.ask("company" if q.source == "company" else q.source, q.turns[-1])
                return time.perf_counter() - start, text, given, q.turns[-1:]

            peer.ask("company" if company else f"mtrag-{next(iter(corpus))}", "warm-up question")
            services.bot.respond(
                everything[0].tenant,
                [Turn(author=Author.customer, text="warm-up question")],
                customer_id=None,
                memory=BotMemory(),
                now=clock[0],
            )
            results: dict[str, dict[str, list[Result]]] = {"switchboard": {}, "peer": {}}
            dump: list[dict[str, object]] = []
            checker = sources or CompanySources(reference_date=clock[0].date(), articles={}, visibility={})
            for i, q in enumerate(everything, start=1):
                row: dict[str, object] = {"source": q.source, "question": q.turns[-1]}
                for name, play in (("switchboard", switchboard), ("peer", naive)):
                    seconds, text, support, said = play(q)
                    if q.facts:
                        score = len(find_all(text, q.facts)) / len(q.facts)
                    else:
                        score = token_f1(text, q.reference)
                    bad = checker.unsupported(text, support, said)
                    key = "company" if q.source == "company" else "mtrag"
                    results[name].setdefault(key, []).append(Result(seconds, text, score, bool(bad)))
                    row[name] = {
                        "text": text,
                        "seconds": round(seconds, 3),
                        "score": round(score, 3),
                        "unsupported": bad,
                    }
                dump.append(row)
                print(f"\r{i}/{len(everything)} questions", end="", flush=True)
            print()
        finally:
            services.close()
    if args.out:
        args.out.write_text(json.dumps(dump, indent=1, ensure_ascii=False), encoding="utf-8")
    rows: list[list[object]] = []
    for key, label, metric in (
        ("company", f"company ({args.company.name})", "fact recall"),
        ("mtrag", "MTRAG", "token F1"),
    ):
        ours, theirs = results["switchboard"].get(key), results["peer"].get(key)
        if not ours or not theirs:
            continue
        base50 = percentile([r.seconds for r in theirs], 50)
        for name, rs in (("naive LangChain chain (baseline)", theirs), ("Switchboard", ours)):
            secs = [r.seconds for r in rs]
            rows.append(
                [
                    f"{label} ({metric})",
                    name,
                    len(rs),
                    percentile(secs, 50),
                    percentile(secs, 95),
                    sum(r.score for r in rs) / len(rs),
                    sum(r.unsupported for r in rs),
                    ratio(base50, percentile(secs, 50)),
                ]
            )
    print_table(
        [
            "questions",
            "system",
            "n",
            "p50 s",
            "p95 s",
            "recall / F1",
            "unsupported-fact answers",
            "p50 speed-up vs peer",
        ],
        rows,
        title="\nSwitchboard vs the naive LangChain RAG chain (same models, same questions, same run)",
    )
    return 0
