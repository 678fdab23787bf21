"""Suggested replies for the agent: up to three, each safe to send to the customer as it
is, answering the customer's last message and citing its articles.

- **Only public content.** A reply is put together from the units (sentences, list items,
  table rows with their header) of the *public* suggested articles that best answer the
  customer's last message; internal articles never feed a reply (they are shown to the
  agent apart, as guidance).
- **Generation only where it helps.** A model that follows instructions may phrase the
  first reply (in the customer's language); the draft is kept only when every sentence is
  supported by the passages (``copilot.grounding``). A base model never writes a reply.
- **Checked before it is offered.** Every reply passes the bot's output filter
  (``core.output_filter``: links off the tenant's allow-list, prompt markers, card data)
  and the tenant's internal fingerprint (``copilot.leaks``: codes, internal-only numbers,
  hosts, names and sentences of internal articles); a sentence that carries any of it is
  removed, and a reply left empty is dropped.
- **Language.** A reply is in the customer's language when the model can write it;
  otherwise it is in the articles' language and marked ``needs_translation``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from copilot.grounding import support
from copilot.leaks import InternalFingerprint
from copilot.text import content_words, split_sentences, strip_citations
from copilot.units import Unit, units_of
from core.errors import UpstreamError
from core.language import NAMES
from core.models.chat import ChatModel, GenerationParams
from core.models.embed import Embedder
from core.output_filter import filter_output
from core.types import Author, Citation, Passage, Turn, Visibility
from prompts.loader import PromptLoader

__all__ = ["ReplyConfig", "ReplyDrafter", "SuggestedReply", "TokenSink", "safe_text"]

TokenSink = Callable[[str], None]
_NUMBER = re.compile(r"\d")
_ASKS_NUMBER = re.compile(
    r"\b(how (much|many|long|soon|often|far)|when|what time|which day|what date|cost|price|fee|charge)\b", re.I
)


class SuggestedReply(BaseModel):
    id: str
    text: str  # ready to send (the agent may edit it first)
    citations: list[Citation] = Field(default_factory=list)
    mode: str  # composed | generated
    grounding: float = 0.0
    language: str = "en"  # the language the reply is written in
    needs_translation: bool = False  # the customer writes in ``translate_to``
    translate_to: str | None = None


@dataclass(frozen=True)
class ReplyConfig:
    company: str = ""  # default company name (the tenant's name is passed per call)
    max_replies: int = 3
    generate: bool = True  # ask an instruction-following model for the first reply
    passages_in_prompt: int = 2
    passage_chars: int = 500
    history_turns: int = 4
    max_tokens: int = 120
    grounding_threshold: float = 0.55
    min_fit: float = 0.3  # a unit must answer the message at least this well (cosine or word share)
    units_per_reply: int = 2
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


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", ":")) else text + "."


def safe_text(text: str, allowed_hosts: Iterable[str], fingerprint: InternalFingerprint | None) -> str:
    """``text`` as it may be sent: sentences the output filter blocks or that carry internal
    content removed, card data masked; empty when nothing is left."""
    kept: list[str] = []
    allowed = list(allowed_hosts)
    for s in split_sentences(text) or [text]:
        result = filter_output(s, allowed, None)
        if result.blocked:
            continue
        if fingerprint is not None and fingerprint.find(result.text):
            continue
        kept.append(result.text)
    return " ".join(kept).strip()


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
        language: str | None = None,
        company: str | None = None,
        allowed_hosts: Iterable[str] = (),
        fingerprint: InternalFingerprint | None = None,
        on_token: TokenSink | None = None,
        is_stale: Callable[[], bool] | None = None,
    ) -> list[SuggestedReply]:
        """Replies to the customer's last message from the public ``passages`` (internal ones
        are ignored). ``language``: the customer's; ``allowed_hosts``: links a reply may
        carry; ``fingerprint``: the tenant's internal content a reply must never carry."""
        cfg = self.config
        q = question or next((t.text for t in reversed(turns) if t.author == Author.customer), "")
        public = [p for p in passages if p.visibility == Visibility.public]
        if not q.strip() or not public:
            return []
        hosts = list(allowed_hosts)
        kb_language = public[0].language or "en"
        foreign = bool(language) and language != kb_language
        replies: list[SuggestedReply] = []
        if cfg.generate and self.chat.follows_instructions and not (is_stale and is_stale()):
            generated = self._generated(turns, q, public, message_seq, on_token, language, company)
            if generated is not None:
                text = safe_text(generated.text, hosts, fingerprint)
                if text:
                    replies.append(generated.model_copy(update={"text": text}))
        # A question in another language can't be matched to English units word by word: the
        # best article's leading units serve (the article was ranked across languages).
        for reply, link in self._composed(q, public, message_seq, min_fit=0.0 if foreign else cfg.min_fit):
            if len(replies) >= cfg.max_replies:
                break
            text = safe_text(reply.text, hosts, fingerprint)
            if not text or any(text in r.text for r in replies):
                continue
            if link and not filter_output(link, hosts, None).changed:
                text = f"{text} {link}"
            replies.append(reply.model_copy(update={"text": text}))
        if foreign:
            replies = [
                r if r.mode == "generated" and r.language == language
                else r.model_copy(update={"language": kb_language, "needs_translation": True, "translate_to": language})
                for r in replies
            ]
        return replies

    # -- composed from the articles' units -------------------------------------------------

    def _composed(
        self, question: str, passages: list[Passage], seq: int, *, min_fit: float
    ) -> list[tuple[SuggestedReply, str]]:
        """One reply per public article (best first): the article's units that best answer the
        question, in the article's order; with the sentence that links the article."""
        cfg = self.config
        per_article: list[tuple[Passage, list[Unit]]] = []
        for p in passages:
            units = [u for u in units_of(p.text) if 15 <= len(u.text) <= 400 and not u.text.endswith(":")]
            if units:
                per_article.append((p, units))
        if not per_article:
            return []
        flat = [u.text for _, units in per_article for u in units]
        vecs = self.embedder.embed([question, *flat])
        asked = content_words(question)
        wants_number = bool(_ASKS_NUMBER.search(question))
        out: list[tuple[SuggestedReply, str]] = []
        offset = 1
        for n, (p, units) in enumerate(per_article, start=1):
            sims = vecs[offset : offset + len(units)] @ vecs[0]
            offset += len(units)
            lexical = np.array([len(asked & content_words(u.text)) / len(asked) if asked else 0.0 for u in units])
            fit = np.maximum(sims, lexical)
            if wants_number:
                fit = fit + 0.1 * np.array([bool(_NUMBER.search(u.text)) for u in units])
            order = [int(i) for i in np.argsort(-fit, kind="stable") if fit[int(i)] >= min_fit][: cfg.units_per_reply]
            if not order:
                continue
            best = fit[order[0]]
            order = [i for i in order if fit[i] >= best - 0.15]
            order.sort()  # keep the article's order
            body = " ".join(_sentence(units[i].text) for i in order)
            link = f"More in our help article “{p.title}”: {p.url}" if p.url.startswith(("http://", "https://")) else ""
            out.append((
                SuggestedReply(
                    id=f"reply:{seq}:{p.article_id}",
                    text=body,
                    citations=[_citation(n, p)],
                    mode="composed",
                    grounding=round(float(fit[order].min()), 3),
                    language=p.language or "en",
                ),
                link,
            ))
        return out

    # -- generated (instruction-following models only) ------------------------------------

    def _generated(
        self,
        turns: list[Turn],
        question: str,
        passages: list[Passage],
        seq: int,
        on_token: TokenSink | None,
        language: str | None,
        company: str | None,
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
            company=company or cfg.company or "The",
            passages=top,
            history=history,
            question=question.replace("\n", " "),
            language=NAMES.get(language or "", "") if language else "",
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
            return None  # the composed replies still serve
        sentences = [s for s in split_sentences(text.strip()) if s.rstrip().endswith((".", "!", "?", "]"))]
        draft = strip_citations(" ".join(sentences[:3]))
        if not draft:
            return None
        in_english = not language or language == (top[0].language or "en")
        score = support(self.embedder, draft, top) if in_english else 1.0
        if in_english and score < cfg.grounding_threshold:
            return None
        if not in_english and _invented_numbers(draft, top):
            return None
        return SuggestedReply(
            id=f"reply:{seq}:gen",
            text=draft,
            citations=[_citation(n, p) for n, p in enumerate(top, start=1)],
            mode="generated",
            grounding=round(score, 3),
            language=language or (top[0].language or "en"),
        )

    def describe(self) -> dict[str, object]:
        return {
            "chat": self.chat.describe(),
            "max_replies": self.config.max_replies,
            "generate": self.config.generate and self.chat.follows_instructions,
        }


def _invented_numbers(text: str, passages: list[Passage]) -> bool:
    """A draft in another language can't be checked word by word; its numbers can."""
    source = " ".join(p.text for p in passages)
    return any(n not in source for n in re.findall(r"\d+(?:[.,]\d+)?", text))
