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
from dataclasses import dataclass, field, replace

import numpy as np
from pydantic import BaseModel, Field

from copilot import soundslike
from copilot.crosslingual import CrossLingual
from copilot.leaks import InternalFingerprint
from copilot.next_action import NextActionAdvisor, NextBestAction, with_guideline
from copilot.query import conversation_query, whole_conversation_query
from copilot.replies import SuggestedReply
from copilot.sentiment import SentimentTrend, trend
from copilot.shelf import ShelvedIndex
from copilot.subjects import SubjectLinker, subject_of
from copilot.text import content_words, split_sentences
from copilot.units import units_of
from core.language import detect_language
from core.types import Author, CustomerFacts, OrderFact, Passage, TicketFact, Turn, Visibility
from knowledge.context import ALL, ContextBuilder
from knowledge.documents import embedding_text
from knowledge.index.base import Filters
from knowledge.retrievers.hybrid import HybridRetriever

CLOSED_ORDER_STATES = frozenset({"delivered", "returned", "cancelled", "refunded"})
INTERNAL = frozenset({Visibility.internal})


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
    role: str = "answer"  # answer | playbook (an internal guideline for the situation)
    language: str = "en"

    @classmethod
    def from_passage(
        cls, passage: Passage, suggestion_id: str, query: str, role: str = "answer"
    ) -> ArticleSuggestion:
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
            role=role,
            language=passage.language,
        )


class GuidanceNote(BaseModel):
    """Internal guidance for the agent, shown apart from the replies: never to be sent."""

    kind: str  # step (the next action's guideline) | article (an internal article's matching passage)
    text: str
    article_id: str
    title: str
    url: str = ""


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
    """The first (fast) suggestion event for one customer message.

    ``articles`` are ranked (best first; ``article_ids`` repeats their ids in that order);
    ``next_action.key`` is the tenant catalog's action key; ``guidance`` is internal text
    for the agent only (marked "internal — do not send" in the console), kept apart from
    the suggested replies that come in the ``replies`` event."""

    message_seq: int
    query: str
    language: str = "en"  # the customer's language as detected in the conversation
    articles: list[ArticleSuggestion] = Field(default_factory=list)
    article_ids: list[str] = Field(default_factory=list)
    customer: CustomerFacts | None = None
    facts: CrmFacts | None = None
    next_action: NextBestAction | None = None
    guidance: list[GuidanceNote] = Field(default_factory=list)
    sentiment: SentimentTrend = Field(default_factory=SentimentTrend)
    compute_ms: float = 0.0


class ReplySuggestions(BaseModel):
    """The second event: suggested replies grounded in the public articles of the first,
    safe to send (no internal text), each editable in the console before sending."""

    message_seq: int
    replies: list[SuggestedReply] = Field(default_factory=list)
    language: str = "en"
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


def fuse_articles(ranked: list[tuple[list[Passage], float]], k: int, rrf_k: int = 60) -> list[Passage]:
    """Weighted reciprocal rank fusion of ranked article lists (one passage per article):
    sum over the lists of weight / (rrf_k + rank); the first list's passage is kept."""
    scores: dict[str, float] = {}
    first: dict[str, Passage] = {}
    for passages, weight in ranked:
        for rank, p in enumerate(passages):
            scores[p.article_id] = scores.get(p.article_id, 0.0) + weight / (rrf_k + rank + 1)
            first.setdefault(p.article_id, p)
    order = sorted(scores, key=lambda a: -scores[a])[:k]
    return [first[a] for a in order]


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


def mentioned(orders: list[OrderFact], turns: list[Turn]) -> list[OrderFact]:
    """The customer's orders whose id the conversation names (either side, any case)."""
    said = " ".join(t.text for t in turns).lower()
    out = []
    for o in orders:
        oid = o.id.strip().lower()
        if oid and re.search(rf"(?<![\w-]){re.escape(oid)}(?![\w-])", said):
            out.append(o)
    return out


def relevant_facts(facts: CustomerFacts | None, turns: list[Turn], *, tickets: int = 3) -> CrmFacts | None:
    if facts is None:
        return None
    return CrmFacts(
        customer_id=facts.customer_id,
        name=facts.name,
        tier=facts.tier,
        language=facts.language,
        open_orders=[o for o in facts.orders if o.status not in CLOSED_ORDER_STATES],
        mentioned_orders=mentioned(facts.orders, turns),
        recent_tickets=facts.tickets[:tickets],
        notes=facts.notes[:3],
    )


def guideline_steps(passage: Passage, said: str, *, limit: int = 4) -> list[str]:
    """The units of a guideline passage that fit what was said: its steps, list items and
    table rows first (sentences when it has none), best matches by shared content words,
    kept in the article's order."""
    units = units_of(passage.text)
    steps = [u for u in units if u.is_step] or units
    words = content_words(said)
    scored = sorted(steps, key=lambda u: -len(words & content_words(u.text)) / (1 + 0.002 * len(u.text)))
    chosen = sorted(scored[:limit], key=lambda u: u.index)
    return [u.text for u in chosen]


@dataclass
class Copilot:
    context: ContextBuilder
    articles: int = 5  # suggestions shown when the tenant's configuration says nothing
    advisor: Callable[[str], NextActionAdvisor | None] = lambda tenant_id: None
    article_count: Callable[[str], int | None] = lambda tenant_id: None  # the tenant's ``suggest_articles``
    subjects: SubjectLinker | None = None
    crosslingual: CrossLingual | None = None
    kb_languages: Callable[[str], frozenset[str]] = lambda tenant_id: frozenset({"en"})
    company: Callable[[str], str] = lambda tenant_id: ""
    link_hosts: Callable[[str, list[str]], frozenset[str]] = lambda tenant_id, urls: frozenset()
    fingerprint: Callable[[str], InternalFingerprint | None] = lambda tenant_id: None
    max_articles: int = 5  # answers plus matching playbooks
    subject_pool: int = 3  # named subjects whose articles compete for the top places
    subject_candidates: int = 60
    candidates: int = 15  # articles the retrieval hands to the next-action ranking
    situation_weight: float = 1.0  # the suggested action's situation search, in the article fusion
    vector_cache: int = 50_000  # article embeddings kept for re-ranking a subject's articles
    sounds_like_weight: float = 0.3  # misheard words matched by sound (copilot.soundslike), vs. cosine
    shelf_chunks: int = 20_000  # tenants with at most this many chunks are searched in memory (0: never)
    _vectors: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict, init=False, repr=False)
    _vectors_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _retriever: tuple[HybridRetriever, HybridRetriever] | None = field(default=None, init=False, repr=False)
    _situations: OrderedDict[tuple[str, str, int], list[Passage]] = field(
        default_factory=OrderedDict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        if not 1 <= self.articles <= 10 or not 1 <= self.max_articles <= 10:
            raise ValueError("articles and max_articles must be 1..10")

    @property
    def retriever(self) -> HybridRetriever:
        """The context's retriever with its dense searches served from memory when the
        tenant's chunks fit (``copilot.shelf``): same results, a fraction of the time."""
        base = self.context.retriever
        with self._vectors_lock:
            if self._retriever is None or self._retriever[0] is not base:
                index = ShelvedIndex(base.index, max_chunks=self.shelf_chunks) if self.shelf_chunks else base.index
                self._retriever = (base, replace(base, index=index))
            return self._retriever[1]

    def count_for(self, tenant_id: str) -> int:
        n = self.article_count(tenant_id)
        return max(1, min(10, n)) if n else self.articles

    def passages(self, tenant_id: str, turns: list[Turn], *, query: str | None = None) -> tuple[str, list[Passage]]:
        q = query if query is not None else conversation_query(turns)
        n = self.count_for(tenant_id)
        ctx = self.context.context(tenant_id, turns, customer_id=None, visibilities=ALL, k=n * 3, query=q)
        return ctx.query, _dedupe_by_article(ctx.passages, n)

    def language_of(self, turns: list[Turn]) -> str | None:
        """The customer's language from their recent turns (None: too short to tell)."""
        said = " ".join(t.text for t in turns if t.author == Author.customer)[-600:]
        return detect_language(said).code if said.strip() else None

    def articles_for(
        self,
        tenant_id: str,
        turns: list[Turn],
        advisor: NextActionAdvisor | None = None,
        *,
        n: int | None = None,
        language: str | None = None,
    ) -> tuple[str, list[Passage]]:
        """The suggested articles for a conversation, best first (``n``: how many; default
        the tenant's count): one embedding call for the queries and the new turns the
        advisor needs; named subjects' articles first; a conversation in a language the KB
        is not written in is searched across languages when a multilingual model is there."""
        n = n or self.count_for(tenant_id)
        q = conversation_query(turns)
        if not q:
            return q, []
        retriever = self.retriever
        ranked = self.subjects.rank(tenant_id, turns, self.subject_pool) if self.subjects is not None else []
        last = next((t.text for t in reversed(turns) if t.author == Author.customer), q)
        missing = advisor.missing(advisor.texts(turns)) if advisor is not None else []
        filters = Filters(tenant_id, ALL)
        if not ranked:
            # The last message made to stand alone, and the whole conversation (agent turns
            # included: the agent often names the situation), searched together and fused.
            # Dense side: the last message's own vector (the advisor needs it anyway) and the
            # whole conversation's; keyword side: the stand-alone query and the whole text.
            whole = whole_conversation_query(turns)
            texts = list(dict.fromkeys(x for x in (last, whole, *missing) if x))
            embedded = dict(zip(texts, retriever.embedder.embed(texts), strict=True))
            if advisor is not None and missing:
                advisor.remember(missing, np.stack([embedded[t] for t in missing]))
            queries, qvecs = [q], [embedded[last]]
            if whole and whole != q:
                queries.append(whole)
                qvecs.append(embedded[whole])
            found = retriever.search_many(
                queries, k=max(n, self.candidates) * 3, filters=filters, query_vectors=qvecs
            )
            found = _dedupe_by_article(found, max(n, self.candidates))
            if language and self.crosslingual is not None and language not in self.kb_languages(tenant_id):
                found = self.crosslingual.fuse(tenant_id, turns, found, max(n, self.candidates))
            return q, found[: max(n, self.candidates)]
        # The conversation named subjects: search for the question about each, then order
        # their articles by how likely the subject is meant plus how well the article answers.
        vecs = retriever.embedder.embed([last, *missing])
        if advisor is not None and missing:
            advisor.remember(missing, vecs[1:])
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
        return queries[0], _dedupe_by_article(about + rest, n)

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

    def _situation(
        self, tenant_id: str, nba: NextBestAction, advisor: NextActionAdvisor
    ) -> list[Passage]:
        """Articles about the suggested action's situation: the action's description and
        examples searched as one query (its vector is the advisor's, no new embedding).
        This is how a playbook comes up when the conversation matches its situation."""
        action = advisor.catalog.get(nba.key)
        if action is None:
            return []
        text = " ".join([action.label, action.description, *action.when])
        retriever = self.retriever
        # The same situation gives the same articles until the tenant's KB changes: kept per
        # live-version generation (or chunk count, without live versions).
        generation = retriever.live.view(tenant_id).generation if retriever.live else retriever.index.count(tenant_id)
        key = (tenant_id, text, generation)
        with self._vectors_lock:
            cached = self._situations.get(key)
        if cached is not None:
            return cached
        vector = advisor.action_vector(nba.key)
        if vector is None:
            return []
        found = retriever.search_many([text], k=self.candidates * 3, filters=Filters(tenant_id, ALL),
                                      query_vectors=[vector])
        out = _dedupe_by_article(found, self.candidates)
        with self._vectors_lock:
            self._situations[key] = out
            while len(self._situations) > 1024:
                self._situations.popitem(last=False)
        return out

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
        n = self.count_for(tenant_id)
        language = self.language_of(turns)
        query, found = self.articles_for(tenant_id, turns, advisor, n=n, language=language)
        customer = self.context.facts(tenant_id, customer_id)
        nba = (
            advisor.advise(turns, done_actions, facts=customer, articles=found[:n]) if advisor is not None else None
        )
        guidance: list[GuidanceNote] = []
        guide: Passage | None = None
        if nba is not None and advisor is not None:
            situation = self._situation(tenant_id, nba, advisor)
            found = fuse_articles([(found, 1.0), (situation, self.situation_weight)], self.candidates)
            named = [p for p in [*found, *situation] if nba.description and p.article_id in nba.description]
            internal = [p for p in situation[:3] if p.visibility == Visibility.internal]
            guide = next(iter(named + internal), None)
            if guide is not None:
                said = " ".join(t.text for t in turns if t.author in (Author.customer, Author.agent))
                nba = with_guideline(nba, guide, guideline_steps(guide, f"{said} {nba.description}"))
                guidance += [
                    GuidanceNote(kind="step", text=step.text, article_id=guide.article_id, title=guide.title,
                                 url=guide.url)
                    for step in nba.steps
                ]
        top = found[:n]
        if guide is not None and all(p.article_id != guide.article_id for p in top):
            top = [*top, guide][: max(n, self.max_articles)]  # the playbook for the situation
        roles = {p.article_id: "answer" for p in found[:n]}
        articles = [
            ArticleSuggestion.from_passage(
                p, f"art:{message_seq}:{p.article_id}", query, roles.get(p.article_id, "playbook")
            )
            for p in top
        ]
        for a in articles:
            if a.visibility == Visibility.internal.value and a.highlight and a.article_id != (
                guide.article_id if guide is not None else None
            ):
                guidance.append(
                    GuidanceNote(kind="article", text=a.highlight, article_id=a.article_id, title=a.title, url=a.url)
                )
        return Suggestions(
            message_seq=message_seq,
            query=query,
            language=language or "en",
            articles=articles,
            article_ids=[a.article_id for a in articles],
            customer=customer,
            facts=relevant_facts(customer, turns),
            next_action=nba,
            guidance=guidance,
            sentiment=trend(turns, seqs),
            compute_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    def warm(self, tenant_id: str) -> None:
        """Build, off the request path, what a tenant's first suggestion would otherwise wait
        for: the in-memory chunk vectors, the KB library and subjects, the action catalog's
        vectors, the language detector's profiles (loaded once per process)."""
        detect_language("Bonjour, je voudrais savoir où en est ma demande, merci beaucoup")
        self.suggest(tenant_id, [Turn(author=Author.customer, text="hello, I have a question")], customer_id=None,
                     message_seq=0)

    def reply_safety(
        self, tenant_id: str, passages: list[Passage]
    ) -> tuple[str, frozenset[str], InternalFingerprint | None]:
        """For the reply drafter: the company's name, the hosts a reply may link to (the
        tenant's own and the cited articles'), and the internal content it must never carry."""
        urls = [p.url for p in passages if p.visibility == Visibility.public and p.url]
        return self.company(tenant_id), self.link_hosts(tenant_id, urls), self.fingerprint(tenant_id)

    def describe(self) -> dict[str, object]:
        return {
            "articles": self.articles,
            "max_articles": self.max_articles,
            "crosslingual": self.crosslingual.describe() if self.crosslingual is not None else None,
        }
