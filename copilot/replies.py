"""Suggested replies for the agent: one to three, each grounded in the suggested articles
and carrying its citations.

When a model is available the first reply is generated and then verified sentence by
sentence against the passages; an unsupported draft is dropped. The other replies (and the
first one when the draft fails) are extractive: the passage sentences that best answer the
customer's message, so a weak base model can never put invented facts in front of an agent.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from copilot.grounding import support
from copilot.text import content_words, split_sentences, strip_citations
from core.errors import UpstreamError
from core.models.chat import ChatModel, GenerationParams
from core.models.embed import Embedder
from core.types import Author, Citation, Passage, Turn
from prompts.loader import PromptLoader

TokenSink = Callable[[str], None]


class SuggestedReply(BaseModel):
    id: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    mode: str  # generated | extractive
    grounding: float = 0.0


@dataclass(frozen=True)
class ReplyConfig:
    company: str = "Larkspur"
    max_replies: int = 3
    generate: bool = True  # ask the model for the first reply
    passages_in_prompt: int = 2
    passage_chars: int = 500
    history_turns: int = 4
    max_tokens: int = 80
    grounding_threshold: float = 0.55
    extractive_min_similarity: float = 0.3
    timeout_s: float = 20.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_replies <= 3:
            raise ValueError("max_replies must be 1..3")
        if not 0.0 <= self.grounding_threshold <= 1.0:
            raise ValueError("grounding_threshold must be within 0..1")


@dataclass(frozen=True)
class _HistoryLine:
    author: str
    text: str


def _trim(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > limit // 2 else cut


def _citation(n: int, p: Passage) -> Citation:
    return Citation(n=n, article_id=p.article_id, title=p.title, url=p.url, version=p.version, section=p.section)


class ReplyDrafter:
    def __init__(
        self, chat: ChatModel, embedder: Embedder, prompts: PromptLoader, config: ReplyConfig | None = None
    ) -> None:
        self.chat = chat
        self.embedder = embedder
        self.prompts = prompts
        self.config = config or ReplyConfig()
        prompts.variables("copilot_reply")  # fail at start-up when the template is missing

    def draft(
        self,
        turns: list[Turn],
        passages: list[Passage],
        *,
        message_seq: int,
        question: str | None = None,
        on_token: TokenSink | None = None,
        is_stale: Callable[[], bool] | None = None,
    ) -> list[SuggestedReply]:
        cfg = self.config
        q = question or next((t.text for t in reversed(turns) if t.author == Author.customer), "")
        if not q or not passages:
            return []
        replies: list[SuggestedReply] = []
        if cfg.generate and not (is_stale and is_stale()):
            generated = self._generated(turns, q, passages, message_seq, on_token)
            if generated is not None:
                replies.append(generated)
        for n, p in enumerate(passages, start=1):
            if len(replies) >= cfg.max_replies:
                break
            r = self._extractive(q, n, p, message_seq)
            if r is not None and all(r.text != x.text for x in replies):
                replies.append(r)
        return replies

    def _generated(
        self, turns: list[Turn], question: str, passages: list[Passage], seq: int, on_token: TokenSink | None
    ) -> SuggestedReply | None:
        cfg = self.config
        top = [
            p.model_copy(update={"text": _trim(p.text, cfg.passage_chars)}) for p in passages[: cfg.passages_in_prompt]
        ]
        earlier = (
            turns[:-1][-cfg.history_turns :] if turns and turns[-1].text == question else turns[-cfg.history_turns :]
        )
        history = [
            _HistoryLine("Customer" if t.author == Author.customer else "Agent", t.text.replace("\n", " ")[:300])
            for t in earlier
            if t.author in (Author.customer, Author.agent, Author.bot)
        ]
        prompt = self.prompts.render(
            "copilot_reply",
            company=cfg.company,
            passages=top,
            history=history,
            question=question.replace("\n", " "),
            delimiter=f"<<{secrets.token_hex(4)}>>",
        )
        params = GenerationParams(
            max_tokens=cfg.max_tokens, stop=("\nCustomer:", "\n\n", "<<", "\nAgent:"), timeout_s=cfg.timeout_s
        )
        try:
            if self.chat.can_stream:
                parts: list[str] = []
                for piece in self.chat.stream(prompt, params):
                    parts.append(piece)
                    if on_token is not None:
                        on_token(piece)
                text = "".join(parts)
            else:
                text = self.chat.complete(prompt, params).text
        except UpstreamError:
            return None  # the extractive replies still serve
        sentences = [s for s in split_sentences(text.strip()) if s.rstrip().endswith((".", "!", "?", "]"))]
        draft = strip_citations(" ".join(sentences[:3]))
        if not draft:
            return None
        score = support(self.embedder, draft, top)
        if score < cfg.grounding_threshold:
            return None
        return SuggestedReply(
            id=f"reply:{seq}:gen",
            text=draft,
            citations=[_citation(n, p) for n, p in enumerate(top, start=1)],
            mode="generated",
            grounding=round(score, 3),
        )

    def _extractive(self, question: str, n: int, passage: Passage, seq: int) -> SuggestedReply | None:
        cfg = self.config
        candidates = [s for s in split_sentences(passage.text) if 20 <= len(s) <= 400 and not s.endswith(":")]
        if not candidates:
            return None
        vecs = self.embedder.embed([question, *candidates])
        asked = content_words(question)
        lexical = np.array([len(asked & content_words(c)) / len(asked) if asked else 0.0 for c in candidates])
        sims = np.maximum(vecs[1:] @ vecs[0], lexical)
        order = [int(i) for i in np.argsort(-sims)[:2] if sims[i] >= cfg.extractive_min_similarity]
        if not order:
            return None
        order.sort()  # keep the article's order
        text = " ".join(candidates[i].rstrip() for i in order)
        if not text.endswith((".", "!", "?")):
            text += "."
        return SuggestedReply(
            id=f"reply:{seq}:{passage.article_id}",
            text=text,
            citations=[_citation(n, passage)],
            mode="extractive",
            grounding=round(float(sims[order].min()), 3),
        )

    def describe(self) -> dict[str, object]:
        return {"chat": self.chat.describe(), "max_replies": self.config.max_replies, "generate": self.config.generate}
