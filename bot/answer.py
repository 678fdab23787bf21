"""Grounded answers with numbered citations.

The configured model drafts an answer from the top passages; every sentence is checked
against the passages it cites. A draft below the grounding threshold is replaced by an
extractive answer built from the best-supported source sentences (still cited), and when
even those are weak the bot abstains.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from bot.grounding import GroundingChecker, cited_numbers, strip_citations
from core.errors import UpstreamError
from core.models.chat import ChatModel, GenerationParams
from core.models.embed import Embedder
from core.text import split_sentences
from core.types import Citation, Passage
from prompts.loader import PromptLoader

TokenSink = Callable[[str], None]


@dataclass(frozen=True)
class AnswerConfig:
    answer_passages: int = 2
    passage_chars: int = 600
    max_tokens: int = 96
    grounding_threshold: float = 0.55
    extractive_min_similarity: float = 0.42
    min_relevance: float = 0.0  # question-to-answer similarity a generated draft needs (0: off)
    extractive_sentences: int = 2
    timeout_s: float = 30.0


@dataclass
class Answer:
    text: str
    citations: list[Citation]
    grounding: float
    mode: str  # generated | extractive | abstain
    passages: list[Passage] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0


def _trim(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("\n"))
    return cut[: end + 1] if end > limit // 2 else cut


def _citations(passages: list[Passage], numbers: set[int]) -> list[Citation]:
    return [
        Citation(n=n, article_id=p.article_id, title=p.title, url=p.url, version=p.version, section=p.section)
        for n, p in enumerate(passages, start=1)
        if n in numbers
    ]


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
        self.checker = GroundingChecker(embedder)

    def answer(
        self,
        question: str,
        passages: list[Passage],
        on_token: TokenSink | None = None,
        language: str = "English",
        *,
        company: str = "",
    ) -> Answer:
        """Answer ``question`` from ``passages`` in ``language`` for the tenant ``company``."""
        cfg = self.config
        top = [p.model_copy(update={"text": _trim(p.text, cfg.passage_chars)}) for p in passages[: cfg.answer_passages]]
        if not top:
            return Answer("", [], 0.0, "abstain")
        draft, ptoks, ctoks = self._generate(question, top, on_token, language, company)
        if draft:
            if not cited_numbers(draft) and len(top) >= 1:
                draft = self._attach_citations(draft, top)
            result = self.checker.check(draft, top)
            if result.passes(cfg.grounding_threshold) and self._relevant(question, draft):
                numbers = {n for s in result.sentences for n in s.citations}
                generated = Answer(draft, _citations(top, numbers), result.score, "generated", top, ptoks, ctoks)
                extractive = self.extractive(question, top)
                # A weak model may quote a grounded but off-topic sentence: keep the draft only
                # when it is about the question at least as much as the best source sentences.
                if extractive.mode == "abstain" or (
                    self._similarity(question, draft) >= extractive.grounding - 0.05
                    and not _misses_the_figure(question, draft, extractive)
                ):
                    return generated
                extractive.prompt_tokens, extractive.completion_tokens = ptoks, ctoks
                return extractive
        extractive = self.extractive(question, top)
        extractive.prompt_tokens, extractive.completion_tokens = ptoks, ctoks
        return extractive

    def _generate(
        self,
        question: str,
        top: list[Passage],
        on_token: TokenSink | None,
        language: str = "English",
        company: str = "",
    ) -> tuple[str, int, int]:
        # A base model does not know where an answer starts: prime it with the opening words
        # (it then names its sources itself); instruction-following models need no primer.
        primer = "" if self.chat.follows_instructions else PRIMER
        prompt = self.prompts.render(
            "answer",
            company=company or "our",
            language=language,
            passages=top,
            question=question,
            delimiter=f"<<{secrets.token_hex(4)}>>",
            primer=primer,
        )
        params = GenerationParams(
            max_tokens=self.config.max_tokens,
            stop=("\nQuestion:", "\n\n", "<<"),
            temperature=0.0,
            timeout_s=self.config.timeout_s,
        )
        try:
            if self.chat.can_stream and on_token is not None:
                raw = ""
                emitted = 0
                for piece in self.chat.stream(prompt, params):
                    raw += piece
                    shown = unprime(primer + raw, cite=False) if primer else raw
                    if shown is not None and len(shown) > emitted:
                        on_token(shown[emitted:])
                        emitted = len(shown)
                text = unprime(primer + raw) or "" if primer else raw
                return self._clean(text), len(prompt) // 4, len(raw) // 4
            completion = self.chat.complete(prompt, params)
            text = unprime(primer + completion.text) or "" if primer else completion.text
            return self._clean(text), completion.prompt_tokens, completion.completion_tokens
        except UpstreamError:
            return "", 0, 0  # the model is down or slow: the extractive answer still serves

    def _similarity(self, question: str, draft: str) -> float:
        """How close the draft's most on-topic sentence is to the question."""
        sentences = [strip_citations(x) for x in split_sentences(draft)] or [strip_citations(draft)]
        vecs = self.embedder.embed([question, *sentences])
        return float((vecs[1:] @ vecs[0]).max())

    def _relevant(self, question: str, draft: str) -> bool:
        """A grounded draft must also be about the question (a base model may quote the wrong passage)."""
        if self.config.min_relevance <= 0:
            return True
        vecs = self.embedder.embed([question, strip_citations(draft)])
        return float(vecs[0] @ vecs[1]) >= self.config.min_relevance

    @staticmethod
    def _clean(text: str) -> str:
        text = text.strip()
        sentences = split_sentences(text)
        # Keep complete sentences only; a base model often trails off.
        kept = [s for s in sentences if s.rstrip().endswith((".", "!", "?", "]"))]
        return " ".join(kept[:3])

    def _attach_citations(self, draft: str, top: list[Passage]) -> str:
        """Cite each uncited sentence with its most similar passage."""
        sentences = split_sentences(draft)
        vecs = self.embedder.embed(sentences + [p.text for p in top])
        sims = vecs[: len(sentences)] @ vecs[len(sentences) :].T
        return " ".join(f"{s} [{int(np.argmax(sims[i])) + 1}]" for i, s in enumerate(sentences))

    def extractive(self, question: str, top: list[Passage]) -> Answer:
        cfg = self.config
        candidates: list[tuple[int, str]] = []
        for n, p in enumerate(top, start=1):
            for s in split_sentences(p.text):
                if 20 <= len(s) <= 400 and not s.endswith(":"):
                    candidates.append((n, s))
        if not candidates:
            return Answer("", [], 0.0, "abstain", top)
        vecs = self.embedder.embed([question] + [s for _, s in candidates])
        sims = vecs[1:] @ vecs[0]
        order = np.argsort(-sims)
        picked = [i for i in order[: cfg.extractive_sentences] if sims[i] >= cfg.extractive_min_similarity]
        if not picked:
            return Answer("", [], float(sims[order[0]]), "abstain", top)
        picked.sort()  # keep source order for readability
        text = " ".join(f"{candidates[i][1].rstrip()} [{candidates[i][0]}]" for i in picked)
        numbers = {candidates[i][0] for i in picked}
        return Answer(text, _citations(top, numbers), float(sims[picked].min()), "extractive", top)


_ASKS_FOR_A_FIGURE = re.compile(
    r"\b(how (much|many|long|soon|often|late|early)|what time|which day|when|price|cost|fee|charge)", re.IGNORECASE
)
_DIGIT = re.compile(r"\d")


def _misses_the_figure(question: str, draft: str, extractive: Answer) -> bool:
    """A question asking for an amount, a duration or a time needs a figure: a draft without
    one loses to source sentences that have one ("Express shipping is available" does not
    answer "how much does express shipping cost?")."""
    return (
        _ASKS_FOR_A_FIGURE.search(question) is not None
        and _DIGIT.search(strip_citations(draft)) is None
        and _DIGIT.search(strip_citations(extractive.text)) is not None
    )


PRIMER = "According to source ["
_PRIMED = re.compile(
    r"^According to sources? ((?:\[\d{1,2}\](?:\s*(?:,|and|&)\s*)?)+),?\s*(?=[A-Za-z0-9])", re.IGNORECASE
)


def unprime(text: str, *, cite: bool = True) -> str | None:
    """Turn "According to source [1] and [2], you can return…" into "You can return… [1][2]".

    Returns None while the opening clause is still incomplete; ``cite=False`` (streaming)
    leaves the citation out so text already sent never changes."""
    match = _PRIMED.match(text)
    if match is None:
        return None
    numbers = re.findall(r"\d{1,2}", match.group(1))
    rest = text[match.end() :]
    rest = rest[:1].upper() + rest[1:]
    if not cite:
        return rest
    cites = "".join(f"[{n}]" for n in dict.fromkeys(numbers))
    sentences = split_sentences(rest)
    if not sentences:
        return rest
    first = sentences[0]
    if first.rstrip().endswith((".", "!", "?")) and not cited_numbers(first):
        return rest.replace(first, f"{first} {cites}", 1)
    return rest


def stream_words(text: str) -> Iterator[str]:
    yield from re.findall(r"\S+\s*", text)


__all__ = ["Answer", "AnswerConfig", "GroundedAnswerer", "strip_citations", "stream_words"]
