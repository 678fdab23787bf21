"""Multi-turn query rewriting: make the last customer turn stand on its own.

Three rewriters behind one small protocol (``QueryRewriter``):

* ``rewrite_query`` / ``LastTurnRewriter`` - the bot's conservative rewrite: only when the
  last turn leans on earlier ones (pronouns, "what about…", very short follow-ups) it
  borrows the content words of the previous customer turns;
* ``conversation_rewrite`` / ``ConversationRewriter`` - deterministic, works with the
  bundled model: the last turn plus the content words of the reply just before it and of
  the two customer turns before that (the agent or bot often names the thing the customer
  then asks about). The
  retriever searches the last turn *and* this rewrite and fuses them, so a topic switch
  still finds the new topic;
* ``LlmRewriter`` - asks a capable (instruction-following) chat model to rewrite, through
  the ``rewrite_query`` prompt template; it falls back to the deterministic rewrite when
  the model is not capable, fails or answers with something unusable.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

from core.errors import UpstreamError
from core.models.chat import ChatModel, GenerationParams
from core.types import Author, Turn

log = logging.getLogger("switchboard.knowledge")

_FOLLOW_UP = re.compile(
    r"\b(it|its|it's|that|this|those|these|them|they|there|one|same|what about|how about|and if|also)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
_STOP = frozenset(
    "a an and are be can could do does for from have how i if in is it me my of on or please so "
    "that the this to was what when where which why will with would you your hi hello thanks ok "
    "okay yes no".split()
)
# Words that carry no topic in a conversation (fillers, politeness, ASR noise).
_FILLER = _STOP | frozenset(
    "thank sure great perfect um umm ummm uh hmm just also there their they them it's i'm i'd i'll we "
    "we're let see like want need know get got all right well good fine sounds definitely alright "
    "about any some more much many not but then than there's here has had did been being am were "
    "our us let's should may might must shall very really".split()
)


class QueryRewriter(Protocol):
    name: str

    def rewrite(self, turns: list[Turn]) -> str:
        """A standalone search query for the last customer turn ("" when there is none)."""
        ...

    def describe(self) -> dict[str, object]: ...


def needs_context(text: str) -> bool:
    words = _WORD.findall(text)
    return len(words) <= 4 or bool(_FOLLOW_UP.search(text))


def rewrite_query(turns: list[Turn], *, max_history: int = 2) -> str:
    customer = [t.text for t in turns if t.author == Author.customer and t.text.strip()]
    if not customer:
        return ""
    last = customer[-1]
    if len(customer) == 1 or not needs_context(last):
        return last
    borrowed: list[str] = []
    for earlier in reversed(customer[-1 - max_history : -1]):
        for w in _WORD.findall(earlier):
            if w.lower() not in _STOP and w.lower() not in last.lower() and w not in borrowed:
                borrowed.append(w)
    return f"{last} {' '.join(borrowed)}".strip()


def last_customer_turn(turns: list[Turn]) -> str:
    for t in reversed(turns):
        if t.author == Author.customer and t.text.strip():
            return t.text.strip()
    return ""


def conversation_rewrite(turns: list[Turn], *, customer_turns: int = 2, max_borrowed: int = 40) -> str:
    """The last customer turn plus the content words of the reply just before it (agent or
    bot) and of up to ``customer_turns`` earlier customer turns, most recent first, without
    repeats."""
    idx = [i for i, t in enumerate(turns) if t.author == Author.customer and t.text.strip()]
    if not idx:
        return ""
    last_i = idx[-1]
    last = turns[last_i].text.strip()
    sources: list[str] = []
    reply = next((t for t in reversed(turns[:last_i]) if t.author in (Author.agent, Author.bot)), None)
    if reply is not None:
        sources.append(reply.text)
    sources.extend(turns[i].text for i in reversed(idx[-1 - customer_turns : -1]))
    said = {w.lower() for w in _WORD.findall(last)}
    borrowed: list[str] = []
    for text in sources:
        for w in _WORD.findall(text):
            lw = w.lower()
            if lw in _FILLER or lw in said or len(lw) < 2:
                continue
            said.add(lw)
            borrowed.append(w)
    return f"{last} {' '.join(borrowed[:max_borrowed])}".strip()


class LastTurnRewriter:
    name = "last-turn"

    def rewrite(self, turns: list[Turn]) -> str:
        return rewrite_query(turns)

    def describe(self) -> dict[str, object]:
        return {"rewriter": self.name}


class ConversationRewriter:
    name = "conversation"

    def __init__(self, *, customer_turns: int = 2, max_borrowed: int = 40) -> None:
        if customer_turns < 0 or max_borrowed < 0:
            raise ValueError("customer_turns and max_borrowed must be >= 0")
        self.customer_turns = customer_turns
        self.max_borrowed = max_borrowed

    def rewrite(self, turns: list[Turn]) -> str:
        return conversation_rewrite(turns, customer_turns=self.customer_turns, max_borrowed=self.max_borrowed)

    def describe(self) -> dict[str, object]:
        return {"rewriter": self.name, "customer_turns": self.customer_turns, "max_borrowed": self.max_borrowed}


class PromptRenderer(Protocol):
    def render(self, name: str, **variables: object) -> str: ...


class LlmRewriter:
    """Rewrite with a capable chat model; deterministic fallback otherwise."""

    name = "llm"

    def __init__(
        self,
        chat: ChatModel,
        prompts: PromptRenderer,
        *,
        fallback: QueryRewriter | None = None,
        history: int = 6,
        max_tokens: int = 48,
        timeout_s: float = 10.0,
    ) -> None:
        if history < 1 or max_tokens < 8:
            raise ValueError("history >= 1 and max_tokens >= 8 are required")
        self.chat = chat
        self.prompts = prompts
        self.fallback = fallback or ConversationRewriter()
        self.history = history
        self.params = GenerationParams(max_tokens=max_tokens, stop=("\n",), temperature=0.0, timeout_s=timeout_s)

    def rewrite(self, turns: list[Turn]) -> str:
        last = last_customer_turn(turns)
        if not last:
            return ""
        earlier = [t for t in turns if t.author != Author.system and t.text.strip()]
        if len(earlier) < 2 or not getattr(self.chat, "follows_instructions", False):
            return self.fallback.rewrite(turns)
        prompt = self.prompts.render(
            "rewrite_query",
            turns=[{"role": t.author.value, "text": t.text.strip()[:500]} for t in earlier[-self.history - 1 : -1]],
            question=last[:500],
        )
        try:
            text = self.chat.complete(prompt, self.params).text.strip().strip('"').strip()
        except UpstreamError as exc:
            log.warning("query rewrite fell back to the deterministic one: %s", exc)
            return self.fallback.rewrite(turns)
        words = _WORD.findall(text)
        if not (2 <= len(words) <= 60) or "\n" in text:
            return self.fallback.rewrite(turns)
        return text

    def describe(self) -> dict[str, object]:
        return {"rewriter": self.name, "fallback": self.fallback.describe(), "history": self.history}
