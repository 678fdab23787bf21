"""Grounded answers, composed from answer units, with citations.

1. The composer (``bot.compose``) turns the retrieved passages — and, when the question is
   about the signed-in customer's own account, their CRM record — into answer units and
   picks what answers each part of the question (``Composer.select``).
2. Answerability (``bot.answerability``): a calibrated model says whether the help center
   answers the question at all; below the tenant's threshold the bot abstains. A part of a
   multi-part question the help center does not answer is named as not found.
3. The composed answer (``Composer.compose``): the chosen units rendered, each cited, with
   worked dates and sums. This is what the customer gets on the embedded default: a base
   model (``follows_instructions`` False, like the bundled Gemma 270M) never writes
   customer-facing text.
4. An instruction-following model (e.g. an OpenAI-compatible server) may phrase the chosen
   units; its draft is sent only when ``bot.compose.verify`` finds every sentence supported
   by the units it cites (numbers, dates, amounts, negation and their relation), else the
   composed answer is sent.

Either way the text streams to ``on_token``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.answerability import features, load_model
from bot.compose import Composer, ComposeSettings, Composition, Selection, verify
from bot.compose.quantities import quantities
from bot.compose.question import WANT_KINDS
from bot.grounding import cited_numbers, strip_citations
from core.errors import UpstreamError
from core.models.chat import ChatModel, GenerationParams
from core.models.embed import Embedder
from core.types import Citation, CustomerFacts, Passage
from prompts.loader import PromptLoader

TokenSink = Callable[[str], None]


@dataclass(frozen=True)
class AnswerConfig:
    """``answer_threshold``: P(answerable) below which the bot abstains; None takes the
    fitted default from ``bot/answerability.json`` (a tenant may set its own).
    ``extractive_min_similarity``: with an embedder the answerability model was not fitted
    for, the question-to-unit cosine below which the bot abstains (calibrated per embedder).
    ``answer_passages`` / ``passage_chars`` / ``grounding_threshold`` are kept for callers
    that read them; composition uses every retrieved passage whole."""

    answer_passages: int = 2
    passage_chars: int = 600
    max_tokens: int = 160
    grounding_threshold: float = 0.55
    extractive_min_similarity: float = 0.42
    min_relevance: float = 0.0
    extractive_sentences: int = 2
    timeout_s: float = 30.0
    answer_threshold: float | None = None


@dataclass
class Answer:
    text: str
    citations: list[Citation]
    grounding: float  # composed: P(answerable); generated: 1.0 (every sentence verified)
    mode: str  # generated | extractive (composed) | abstain
    passages: list[Passage] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    rejected: list[str] = field(default_factory=list)  # why a model draft was not sent
    # The tenant's today, currency and locale it was composed with (``extractive`` reuses them)
    settings: ComposeSettings | None = None


@dataclass(frozen=True)
class _Fact:
    n: int
    title: str
    section: str
    text: str


class GroundedAnswerer:
    def __init__(
        self,
        chat: ChatModel,
        embedder: Embedder,
        prompts: PromptLoader,
        config: AnswerConfig | None = None,
    ) -> None:
        self.chat = chat
        self.embedder = embedder
        self.prompts = prompts
        self.config = config or AnswerConfig()
        self.composer = Composer(embedder)

    # -- the decision -----------------------------------------------------------------

    def threshold(self, tenant_threshold: float | None = None) -> float | None:
        """The abstain threshold in force: the tenant's, else the config's, else the fitted
        default; None when no model was fitted for this embedder."""
        model = load_model(self.embedder.name)
        if tenant_threshold is not None:
            return tenant_threshold
        if self.config.answer_threshold is not None:
            return self.config.answer_threshold
        return model.threshold if model is not None else None

    def answerability(self, selection: Selection, tenant_threshold: float | None = None) -> tuple[float, list[bool]]:
        """P(answerable) of the question and, per part, whether to answer it."""
        model = load_model(self.embedder.name)
        if model is None:
            # No fitted model for this embedder: the best unit's similarity decides, against
            # the explicit threshold when one is set.
            explicit = tenant_threshold if tenant_threshold is not None else self.config.answer_threshold
            floor = explicit if explicit is not None else self.config.extractive_min_similarity
            sims = [pc.ranked[0].sim if pc.ranked else 0.0 for pc in selection.parts]
            best = max(sims, default=0.0)
            if best < floor:
                return best, [False] * len(sims)
            return best, [s >= floor / 2 for s in sims]
        theta = self.threshold(tenant_threshold)
        assert theta is not None
        p = model.probability(features(selection))
        if len(selection.parts) == 1:
            return p, [p >= theta]
        if p < theta:
            return p, [False] * len(selection.parts)
        # The question is answerable; a part of it is said to be unknown only when its own
        # evidence is weak (half the threshold: a short part like "and who pays it?" leans on
        # the rest of the question).
        flags = [bool(pc.ranked) and model.probability(features(selection, pc)) >= theta / 2 for pc in selection.parts]
        return p, flags

    # -- answering ---------------------------------------------------------------------

    def answer(
        self,
        question: str,
        passages: list[Passage],
        on_token: TokenSink | None = None,
        language: str = "English",
        *,
        company: str = "",
        query: str = "",
        customer: CustomerFacts | None = None,
        settings: ComposeSettings | None = None,
        said_before: Sequence[str] = (),
        customer_said: Sequence[str] = (),
        threshold: float | None = None,
        vocabulary: Callable[[Sequence[str]], Mapping[str, int]] | None = None,
    ) -> Answer:
        """Answer ``question`` (the customer's last message; ``query`` its conversation-aware
        rewrite) from ``passages`` and the signed-in ``customer``'s own record.

        ``settings``: the tenant's today, currency, locale and closed dates;
        ``said_before``: the bot's earlier replies; ``customer_said``: the customer's earlier
        messages; ``threshold``: the tenant's abstain threshold (None: the default);
        ``vocabulary(stems)``: the tenant's KB document frequencies (an answerability signal)."""
        settings = settings or ComposeSettings(today=date.today())
        threshold = threshold if threshold is not None else settings.answer_threshold
        if not passages and customer is None:
            return Answer("", [], 0.0, "abstain", settings=settings)
        selection = self.composer.select(
            question,
            passages,
            query=query,
            customer=customer,
            settings=settings,
            said_before=said_before,
            customer_said=customer_said,
            vocabulary=vocabulary,
        )
        p, flags = self.answerability(selection, threshold)
        if not any(flags):
            return Answer("", [], p, "abstain", list(passages), settings=settings)
        composition = self.composer.compose(selection, settings, answer=flags, customer_said=customer_said)
        if not composition.text:
            return Answer("", [], p, "abstain", list(passages), settings=settings)
        if self.chat.follows_instructions:
            generated = self._phrase(question, composition, on_token, language, company, p)
            if generated is not None:
                generated.passages, generated.settings = list(passages), settings
                return generated
        elif on_token is not None and composition.text:
            # Composed, not generated: the whole answer exists at once, so it goes out as one
            # piece (word by word it reached the widget in the same instant, at the cost of an
            # output-filter scan and an event per released piece).
            on_token(composition.text)
        return Answer(composition.text, composition.citations, p, "extractive", list(passages), settings=settings)

    def extractive(self, question: str, passages: list[Passage], settings: ComposeSettings | None = None) -> Answer:
        """The composed answer without a model and without the abstain decision (a fallback
        when a reply was filtered): every part gets its best units. ``settings``: the
        tenant's today, currency and locale (``Answer.settings`` of the reply it replaces);
        without them the machine's date and the defaults."""
        settings = settings or ComposeSettings(today=date.today())
        selection = self.composer.select(question, passages, settings=settings)
        composition = self.composer.compose(selection, settings)
        if not composition.text:
            return Answer("", [], 0.0, "abstain", list(passages), settings=settings)
        p = self.answerability(selection)[0]
        return Answer(composition.text, composition.citations, p, "extractive", list(passages), settings=settings)

    def _phrase(
        self,
        question: str,
        composition: Composition,
        on_token: TokenSink | None,
        language: str,
        company: str,
        p: float,
    ) -> Answer | None:
        """An instruction-following model's phrasing of the composed units, if verified."""
        by_n = {c.n: c for c in composition.citations}
        facts = [
            _Fact(n, by_n[n].title, by_n[n].section, text)
            for n, text in sorted(composition.sources.items())
            if n in by_n
        ]
        prompt = self.prompts.render(
            "answer",
            company=company or "our",
            language=language,
            passages=facts,
            question=question,
            delimiter=f"<<{secrets.token_hex(4)}>>",
        )
        params = GenerationParams(
            max_tokens=self.config.max_tokens,
            stop=("\nQuestion:", "<<"),
            temperature=0.0,
            timeout_s=self.config.timeout_s,
        )
        streamed = False
        try:
            if self.chat.can_stream and on_token is not None:
                raw = ""
                for piece in self.chat.stream(prompt, params):
                    raw += piece
                    on_token(piece)
                    streamed = True
                ptoks, ctoks = len(prompt) // 4, len(raw) // 4
            else:
                completion = self.chat.complete(prompt, params)
                raw, ptoks, ctoks = completion.text, completion.prompt_tokens, completion.completion_tokens
        except UpstreamError:
            raw, ptoks, ctoks = "", 0, 0  # the model is down or slow: the composed answer serves
        draft = _clean(raw)
        wanted = {k for w in composition.selection.question.wants if w in WANT_KINDS for k in WANT_KINDS[w]}
        keep = frozenset({q.kind for q in quantities(composition.text)} & wanted)
        verdict = verify(draft, composition.sources, question, keep=keep) if draft else None
        if verdict is not None and verdict.ok:
            cited = {n for s in [draft] for n in cited_numbers(s)}
            citations = [c for c in composition.citations if c.n in cited] or composition.citations
            return Answer(draft, citations, 1.0, "generated", [], ptoks, ctoks)
        if on_token is not None and not streamed:
            for piece in stream_words(composition.text):
                on_token(piece)
        answer = Answer(composition.text, composition.citations, p, "extractive", [], ptoks, ctoks)
        answer.rejected = verdict.reasons if verdict is not None else ["no draft"]
        return answer


def _clean(text: str) -> str:
    """Whole sentences only (a model may trail off), at most four."""
    sentences = re.split(r"(?<=[.!?\]])\s+", text.strip())
    kept = [s.strip() for s in sentences if s.strip().endswith((".", "!", "?", "]"))]
    return " ".join(kept[:4])


def stream_words(text: str) -> Iterator[str]:
    yield from re.findall(r"\S+\s*", text)


__all__ = ["Answer", "AnswerConfig", "GroundedAnswerer", "strip_citations", "stream_words"]
