"""KB suggestions for the agent: top articles (internal ones included) for the latest
customer message, each with the matching passage highlighted, plus the customer's relevant
CRM facts, the next best action and the sentiment trend. Everything here is cheap (one
retrieval, no generation), so it reaches the console within the latency budget; suggested
replies come afterwards from ``copilot.replies``.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field

from copilot import soundslike
from copilot.next_action import NextActionAdvisor, NextBestAction
from copilot.query import conversation_query
from copilot.replies import SuggestedReply
from copilot.sentiment import SentimentTrend, trend
from copilot.subjects import SubjectLinker, subject_of
from copilot.text import content_words, split_sentences
from core.types import Author, CustomerFacts, OrderFact, Passage, TicketFact, Turn
from knowledge.context import ALL, ContextBuilder
from knowledge.documents import embedding_text
from knowledge.index.base import Filters
from knowledge.retrievers.hybrid import HybridRetriever

CLOSED_ORDER_STATES = frozenset({"delivered", "returned", "cancelled", "refunded"})
_ORDER_REF = re.compile(r"\bORD-\d{3,}\b", re.IGNORECASE)


class ArticleSuggestion(BaseModel):
    id: str
    article_id: str
    title: str
    url: str
    version: int
    section: str
    passage: str
    highlight: str = ""  # the sentence of the passage that best matches the message
    highlight_start: int = -1  # offsets of ``highlight`` in ``passage`` (-1: none)
    highlight_end: int = -1
    visibility: str
    score: float

    @classmethod
    def from_passage(cls, passage: Passage, suggestion_id: str, query: str) -> ArticleSuggestion:
        """The passage as a suggestion, with the sentence that best matches ``query`` highlighted."""
        hl, start, end = highlight(passage.text, query)
        return cls(
            id=suggestion_id,
            article_id=passage.article_id,
            title=passage.title,
            url=passage.url,
            version=passage.version,
            section=passage.section,
            passage=passage.text,
            highlight=hl,
            highlight_start=start,
            highlight_end=end,
            visibility=passage.visibility.value,
            score=passage.score,
        )


class CrmFacts(BaseModel):
    """The customer's facts an agent needs now: open orders, orders mentioned, recent tickets."""

    customer_id: str
    name: str
    tier: str = "standard"
    language: str = "en"
    open_orders: list[OrderFact] = Field(default_factory=list)
    mentioned_orders: list[OrderFact] = Field(default_factory=list)
    recent_tickets: list[TicketFact] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Suggestions(BaseModel):
    """The first (fast) suggestion event for one customer message."""

    message_seq: int
    query: str
    articles: list[ArticleSuggestion] = Field(default_factory=list)
    customer: CustomerFacts | None = None
    facts: CrmFacts | None = None
    next_action: NextBestAction | None = None
    sentiment: SentimentTrend = Field(default_factory=SentimentTrend)
    compute_ms: float = 0.0


class ReplySuggestions(BaseModel):
    """The second event: suggested replies grounded in the articles of the first."""

    message_seq: int
    replies: list[SuggestedReply] = Field(default_factory=list)
    compute_ms: float = 0.0


def _dedupe_by_article(passages: list[Passage], n: int) -> list[Passage]:
    seen: set[str] = set()
    out: list[Passage] = []
    for p in passages:
        if p.article_id not in seen:
            seen.add(p.article_id)
            out.append(p)
        if len(out) == n:
            break
    return out


def _without_subject(passage: Passage) -> str:
    """The article's question and answer start (as embedded) without its subject's name,
    which every candidate article of that subject shares."""
    subject = subject_of(passage.title) or ""
    text = f"{passage.title.partition(': ')[2]} {passage.text[:300]}"
    return re.sub(re.escape(subject), " ", text, flags=re.IGNORECASE) if subject else text


def highlight(passage: str, query: str) -> tuple[str, int, int]:
    """The passage sentence sharing most content words with the query, with its offsets."""
    words = content_words(query)
    best, best_score = "", 0.0
    for s in split_sentences(passage):
        overlap = len(words & content_words(s))
        score = overlap / (1 + 0.01 * len(s))
        if overlap and score > best_score:
            best, best_score = s, score
    if not best:
        return "", -1, -1
    start = passage.find(best)
    return (best, start, start + len(best)) if start >= 0 else (best, -1, -1)


def relevant_facts(facts: CustomerFacts | None, turns: list[Turn], *, tickets: int = 3) -> CrmFacts | None:
    if facts is None:
        return None
    said = " ".join(t.text for t in turns).upper()
    mentioned = {m.upper() for m in _ORDER_REF.findall(said)}
    return CrmFacts(
        customer_id=facts.customer_id,
        name=facts.name,
        tier=facts.tier,
        language=facts.language,
        open_orders=[o for o in facts.orders if o.status not in CLOSED_ORDER_STATES],
        mentioned_orders=[o for o in facts.orders if o.id.upper() in mentioned],
        recent_tickets=facts.tickets[:tickets],
        notes=facts.notes[:3],
    )


@dataclass
class Copilot:
    context: ContextBuilder
    articles: int = 3
    advisor: Callable[[str], NextActionAdvisor | None] = lambda tenant_id: None
    subjects: SubjectLinker | None = None
    subject_pool: int = 3  # named subjects whose articles compete for the top places
    subject_candidates: int = 60
    vector_cache: int = 50_000  # article embeddings kept for re-ranking a subject's articles
    sounds_like_weight: float = 0.3  # misheard words matched by sound (copilot.soundslike), vs. cosine
    _vectors: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict, init=False, repr=False)
    _vectors_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.articles <= 10:
            raise ValueError("articles must be 1..10")

    def passages(self, tenant_id: str, turns: list[Turn], *, query: str | None = None) -> tuple[str, list[Passage]]:
        q = query if query is not None else conversation_query(turns)
        ctx = self.context.context(tenant_id, turns, customer_id=None, visibilities=ALL, k=self.articles * 3, query=q)
        return ctx.query, _dedupe_by_article(ctx.passages, self.articles)

    def articles_for(
        self, tenant_id: str, turns: list[Turn], advisor: NextActionAdvisor | None = None
    ) -> tuple[str, list[Passage]]:
        """The suggested articles for a conversation: one embedding call for the query and the
        new turns the advisor needs; named subjects' articles first."""
        q = conversation_query(turns)
        if not q:
            return q, []
        retriever = self.context.retriever
        ranked = self.subjects.rank(tenant_id, turns, self.subject_pool) if self.subjects is not None else []
        # With named subjects the articles are ranked against the customer's last message,
        # otherwise searched with the conversation query: embed only the one that is used.
        last = next((t.text for t in reversed(turns) if t.author == Author.customer), q)
        missing = advisor.missing(advisor.texts(turns)) if advisor is not None else []
        vecs = retriever.embedder.embed([last if ranked else q, *missing])
        if advisor is not None and missing:
            advisor.remember(missing, vecs[1:])
        filters = Filters(tenant_id, ALL)
        if not ranked:
            found = retriever.search(q, k=self.articles * 3, filters=filters, query_vector=vecs[0])
            return q, _dedupe_by_article(found, self.articles)
        # The conversation named subjects: search for the question about each, then order
        # their articles by how likely the subject is meant plus how well the article answers.
        queries = [f"{subject.name}: {last}" for subject, _ in ranked]
        found = retriever.search_many(queries, k=self.subject_candidates, filters=filters)
        weight = {subject.name: score for subject, score in ranked}
        about = _dedupe_by_article([p for p in found if subject_of(p.title) in weight], len(found))
        rest = [p for p in found if subject_of(p.title) not in weight]
        if about:
            sims = self._article_vectors(retriever, tenant_id, about) @ vecs[0]
            heard = soundslike.scores(last, [_without_subject(p) for p in about])
            top = max(max(heard), 1.0)
            scores = [
                weight[subject_of(p.title) or ""] + float(sim) + self.sounds_like_weight * h / top
                for p, sim, h in zip(about, sims, heard, strict=True)
            ]
            about = [about[i] for i in sorted(range(len(about)), key=lambda i: -scores[i])]
        return queries[0], _dedupe_by_article(about + rest, self.articles)

    def _article_vectors(self, retriever: HybridRetriever, tenant_id: str, passages: list[Passage]) -> np.ndarray:
        """Per article chunk, the mean of its indexed embedding (title and text) and of the
        embedding of its text's start alone (the answer's own words match a question put
        differently), cached across messages."""
        with self._vectors_lock:
            known = {p.chunk_id: v for p in passages if (v := self._vectors.get(p.chunk_id)) is not None}
        missing = [p for p in passages if p.chunk_id not in known]
        if missing:
            stored = retriever.index.vectors(tenant_id, [p.chunk_id for p in missing])
            unstored = [p for p in missing if p.chunk_id not in stored]  # removed since it was found
            texts = [p.text[:300] for p in missing] + [embedding_text(p.title, p.section, p.text) for p in unstored]
            vecs = retriever.embedder.embed(texts)
            stored.update(zip((p.chunk_id for p in unstored), vecs[len(missing) :], strict=True))
            fresh = {p.chunk_id: (stored[p.chunk_id] + vecs[i]) / 2 for i, p in enumerate(missing)}
            known.update(fresh)
            with self._vectors_lock:
                self._vectors.update(fresh)
                while len(self._vectors) > self.vector_cache:
                    self._vectors.popitem(last=False)
        return np.stack([known[p.chunk_id] for p in passages])

    def suggest(
        self,
        tenant_id: str,
        turns: list[Turn],
        *,
        customer_id: str | None,
        message_seq: int,
        seqs: list[int] | None = None,
        done_actions: list[str] | None = None,
    ) -> Suggestions:
        started = time.perf_counter()
        advisor = self.advisor(tenant_id)
        query, top = self.articles_for(tenant_id, turns, advisor)
        customer = self.context.facts(tenant_id, customer_id)
        nba = advisor.advise(turns, done_actions) if advisor is not None else None
        articles = [ArticleSuggestion.from_passage(p, f"art:{message_seq}:{p.article_id}", query) for p in top]
        return Suggestions(
            message_seq=message_seq,
            query=query,
            articles=articles,
            customer=customer,
            facts=relevant_facts(customer, turns),
            next_action=nba,
            sentiment=trend(turns, seqs),
            compute_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    def describe(self) -> dict[str, object]:
        return {"articles": self.articles}
