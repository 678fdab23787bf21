"""Conversation summaries: a rolling summary (on demand and at handoff) and the
after-contact summary (disposition, tags, follow-ups) written to the CRM on close.

The extractive summary is deterministic and works with any model: the customer's issue,
what the agent or bot did, and the next step, picked from the conversation's own
sentences. With a model that follows instructions an abstractive summary is tried first
and kept only when its content words come from the conversation.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, Field

from copilot.text import content_words, split_sentences
from core.errors import UpstreamError
from core.models.chat import ChatModel, GenerationParams
from core.types import Author, Turn
from prompts.loader import PromptLoader

_ACTION = re.compile(
    r"\b(opened|issued|sent|shipped|ships|refund(?:ed)?|created|cancel(?:l)?ed|changed|updated|reset|escalat\w*|"
    r"e-?mailed|booked|arranged|replac\w+|credited|approved|confirmed|applied|connecting|passed|reported|"
    r"investigation|voucher|label|can see|i see|delivered)\b",
    re.IGNORECASE,
)
_NEXT = re.compile(
    r"\b(will|within|by \d|next|please send|please return|you'll|we'll|i'll|as soon as|until|follow[- ]?up|"
    r"call you|get back|keep you posted)\b",
    re.IGNORECASE,
)
_ESCALATE = re.compile(
    r"\b(escalat\w*|supervisor|legal team|specialist|fraud team|security team|manager|data protection|"
    r"privacy team|passed (?:it|this) (?:on|to))\b",
    re.IGNORECASE,
)
_PROMISE = re.compile(
    r"\b(i'll|we'll|i will|we will|you'll (?:hear|get|receive)|will (?:contact|update|call|e-?mail)|"
    r"keep you posted|get back to you|within \d+|by \d{1,2} \w+)\b",
    re.IGNORECASE,
)
_ROLE = {Author.customer: "Customer", Author.agent: "Agent", Author.bot: "Bot", Author.system: "System"}

TAG_RULES: dict[str, tuple[str, ...]] = {
    "returns": ("return", "label", "send back", "exchange"),
    "refunds": ("refund", "money back", "reimburs"),
    "orders": ("order", "parcel", "tracking", "delivery", "delivered", "shipped", "arrive"),
    "technical": ("not heating", "not working", "stopped", "error", "light", "reset", "battery", "sync", "broken"),
    "account": ("password", "log in", "login", "account", "e-mail address", "email address", "two-factor", "2fa"),
    "billing": ("charged", "charge", "invoice", "payment", "vat", "billing", "paid twice"),
    "warranty": ("warranty", "guarantee", "repair"),
    "trust_safety": ("lawyer", "legal", "fraud", "hacked", "gdpr", "delete my data", "chargeback", "stolen"),
    "damaged": ("damaged", "cracked", "dented"),
    "cancellation": ("cancel",),
    "shipping": ("shipping cost", "express", "customs", "shipping option"),
}


class Summary(BaseModel):
    text: str
    mode: str  # extractive | generated
    turns: int


class AfterContactSummary(BaseModel):
    summary: str
    disposition: str  # resolved | follow_up | escalated | unresolved
    tags: list[str] = Field(default_factory=list)
    follow_ups: list[str] = Field(default_factory=list)
    mode: str = "extractive"


@dataclass(frozen=True)
class _Line:
    author: str
    text: str


def _first_sentences(text: str, n: int, limit: int = 240) -> str:
    sents = split_sentences(text)
    out = " ".join(sents[:n]) if sents else text
    return out if len(out) <= limit else out[:limit].rsplit(" ", 1)[0] + "…"


def _strip_greeting(sentence: str) -> str:
    return re.sub(
        r"^(hi|hello|hey|bonjour|hallo|good (?:morning|afternoon|evening))\b[^.!?,]*[,.!]?\s*",
        "",
        sentence,
        flags=re.IGNORECASE,
    ).strip()


_META_WORDS = frozenset("want talk speak person human agent someone somebody real representative operator need".split())


def _substantive(text: str) -> bool:
    """A customer turn about the issue, not only a request for a human or a greeting."""
    return len(content_words(text) - _META_WORDS) >= 2


_FIRST_PERSON = (
    (r"\bI (want|need|have|think|know|hope|see|like)\b", "{who} \\1s"),
    (r"\bI'm\b", "{who} is"),
    (r"\bI've\b", "{who} has"),
    (r"\bI'll\b", "{who} will"),
    (r"\bI'd\b", "{who} would"),
    (r"\bI\b", "{who}"),
    (r"^My\b", "{who}'s"),
    (r"\bmy\b", "their"),
    (r"\bme\b", "them"),
)
_SECOND_PERSON = ((r"\byou'll\b", "the customer will"), (r"\byour\b", "the customer's"), (r"\byou\b", "the customer"))


def third_person(sentence: str, who: str, *, addressee: bool = False, label: bool = True) -> str:
    """'I've opened an investigation for you' -> 'Agent has opened an investigation for the customer'."""
    out = sentence[:1].upper() + sentence[1:]
    for pattern, repl in _FIRST_PERSON:
        out = re.sub(pattern, repl.format(who=who), out)
    if addressee:
        for pattern, repl in _SECOND_PERSON:
            out = re.sub(pattern, repl, out, flags=re.IGNORECASE)
    if out.startswith(who.lower()):
        out = who + out[len(who) :]
    return out if out.startswith(who) or not label else f"{who}: {out}"


def extractive_summary(turns: list[Turn], *, max_actions: int = 2) -> str:
    customer = [t for t in turns if t.author == Author.customer and _substantive(t.text)]
    staff = [t for t in turns if t.author in (Author.agent, Author.bot)]
    if not customer and not staff:
        return ""
    parts: list[str] = []
    if customer:
        issue = _strip_greeting(_first_sentences(customer[0].text, 2))
        parts.append(third_person(issue, "Customer"))
    staff_sents = [(t.author, s) for t in staff for s in split_sentences(t.text)]
    actions = [(a, s) for a, s in staff_sents if _ACTION.search(s) and not _NEXT.search(s)]
    for author, s in actions[:max_actions]:
        parts.append(third_person(_strip_greeting(s), _ROLE[author], addressee=True))
    nxt = [(a, s) for a, s in staff_sents if _NEXT.search(s)]
    if nxt:
        last = third_person(_strip_greeting(nxt[-1][1]), _ROLE[nxt[-1][0]], addressee=True, label=False)
        role = _ROLE[nxt[-1][0]]
        parts.append("Next step: " + (last if last.startswith(role) else last[:1].lower() + last[1:]))
    elif len(customer) > 1:
        parts.append("Customer last said: " + _first_sentences(customer[-1].text, 1))
    return " ".join(p if p.endswith((".", "!", "?", "…")) else p + "." for p in parts)


def tags_for(turns: list[Turn], extra: list[str] | None = None) -> list[str]:
    text = " ".join(t.text for t in turns).lower()
    found = [tag for tag, needles in TAG_RULES.items() if any(n in text for n in needles)]
    return sorted(set(found) | set(extra or []))


def follow_ups(turns: list[Turn]) -> list[str]:
    out: list[str] = []
    for t in turns:
        if t.author == Author.agent:
            out.extend(s for s in split_sentences(t.text) if _PROMISE.search(s))
    return out[-3:]


def disposition(turns: list[Turn], promised: list[str], *, handed_off: bool = False) -> str:
    staff_text = " ".join(t.text for t in turns if t.author == Author.agent)
    if _ESCALATE.search(staff_text):
        return "escalated"
    if promised:
        return "follow_up"
    if not any(t.author == Author.agent for t in turns) and handed_off:
        return "unresolved"
    return "resolved"


class Summarizer:
    def __init__(
        self,
        chat: ChatModel,
        prompts: PromptLoader,
        *,
        company: Callable[[str], str] = lambda tenant_id: "",
        max_tokens: int = 120,
    ):
        self.chat = chat
        self.prompts = prompts
        self.company = company  # the tenant's company name (its configuration)
        self.max_tokens = max_tokens
        prompts.variables("copilot_summary")

    @property
    def generative(self) -> bool:
        return bool(getattr(self.chat, "follows_instructions", False))

    def summarize(self, turns: list[Turn], tenant_id: str | None = None) -> Summary:
        if self.generative:
            text = self._generated(turns, self.company(tenant_id) if tenant_id else "")
            if text:
                return Summary(text=text, mode="generated", turns=len(turns))
        return Summary(text=extractive_summary(turns), mode="extractive", turns=len(turns))

    def after_contact(
        self,
        turns: list[Turn],
        *,
        handed_off: bool = False,
        extra_tags: list[str] | None = None,
        tenant_id: str | None = None,
    ) -> AfterContactSummary:
        summary = self.summarize(turns, tenant_id)
        promised = follow_ups(turns)
        return AfterContactSummary(
            summary=summary.text,
            disposition=disposition(turns, promised, handed_off=handed_off),
            tags=tags_for(turns, extra_tags),
            follow_ups=promised,
            mode=summary.mode,
        )

    def _generated(self, turns: list[Turn], company: str) -> str:
        lines = [_Line(_ROLE[t.author], t.text.replace("\n", " ")[:500]) for t in turns if t.author != Author.system]
        prompt = self.prompts.render(
            "copilot_summary", company=company, turns=lines[-30:], delimiter=f"<<{secrets.token_hex(4)}>>"
        )
        try:
            text = self.chat.complete(prompt, GenerationParams(max_tokens=self.max_tokens, stop=("\n\n", "<<"))).text
        except UpstreamError:
            return ""
        text = " ".join(split_sentences(text.strip())[:3]).strip()
        words = content_words(text)
        source = content_words(" ".join(t.text for t in turns))
        if len(words) < 4 or len(words & source) / len(words) < 0.6:
            return ""  # off-topic or invented: the extractive summary serves
        return text

    def describe(self) -> dict[str, object]:
        return {"chat": self.chat.describe(), "generative": self.generative}
