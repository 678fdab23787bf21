"""Tone rewrite of the agent's draft: more empathetic, more concise, or translated into the
customer's language.

With a model that follows instructions the rewrite is generated and kept only when every
number of the draft survives; otherwise empathy and concision fall back to deterministic
edits. Translation needs such a model: without one the result says so (``available`` False).
"""

from __future__ import annotations

import re
import secrets
from enum import Enum

from pydantic import BaseModel

from copilot.text import split_sentences
from core.errors import InvalidInput, UpstreamError
from core.models.chat import ChatModel, GenerationParams
from prompts.loader import PromptLoader

LANGUAGES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
    "pl": "Polish",
    "sv": "Swedish",
    "da": "Danish",
}
_EMPATHY = re.compile(r"\b(sorry|apologi[sz]e|understand|frustrat|thank you for your patience)\b", re.IGNORECASE)
_FILLER = re.compile(
    r"\b(just|basically|actually|really|simply|kind of|sort of|please note that|as you may know|"
    r"i think that|i believe that|at this point in time|in order to)\b,?\s+",
    re.IGNORECASE,
)
_PLEASANTRY = re.compile(
    r"^(i hope (?:this|that) helps|let me know if|please don't hesitate|feel free to|have a (?:great|nice)|"
    r"thanks? (?:you )?for (?:reaching|contacting))",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


class Tone(str, Enum):
    empathetic = "empathetic"
    concise = "concise"
    translation = "translate"


class Rewrite(BaseModel):
    text: str
    tone: Tone
    language: str = "en"
    mode: str  # generated | rules | unavailable
    available: bool = True
    message: str = ""


def empathetic_rules(text: str) -> str:
    text = text.strip()
    if _EMPATHY.search(text):
        return text
    return f"I'm sorry for the trouble, and thank you for your patience. {text}"


def concise_rules(text: str, max_sentences: int = 3) -> str:
    sentences = [_FILLER.sub("", s).strip() for s in split_sentences(text)]
    kept = [s for s in sentences if not _PLEASANTRY.match(s)] or sentences
    out = " ".join(s[0].upper() + s[1:] if s else s for s in kept[:max_sentences])
    return re.sub(r"\s{2,}", " ", out).strip()


class ToneRewriter:
    def __init__(self, chat: ChatModel, prompts: PromptLoader, *, max_tokens: int = 200) -> None:
        self.chat = chat
        self.prompts = prompts
        self.max_tokens = max_tokens
        prompts.variables("copilot_rewrite")

    @property
    def capable(self) -> bool:
        return bool(getattr(self.chat, "follows_instructions", False))

    def rewrite(self, text: str, tone: Tone, language: str = "en") -> Rewrite:
        if not text.strip():
            raise InvalidInput("Write a draft first; there is nothing to rewrite.")
        lang = language.lower()[:2]
        if tone == Tone.translation:
            if lang not in LANGUAGES:
                raise InvalidInput(f"Unknown language {language!r}; use one of {', '.join(sorted(LANGUAGES))}.")
            if not self.capable:
                return Rewrite(
                    text=text,
                    tone=tone,
                    language=lang,
                    mode="unavailable",
                    available=False,
                    message=(
                        "Translation needs an instruction-following chat model; the bundled base model cannot "
                        "translate reliably. Configure one (SWITCHBOARD_CHAT_BACKEND=openai with "
                        "SWITCHBOARD_OPENAI_BASE_URL) to enable it."
                    ),
                )
            instruction = f"Translate it into {LANGUAGES[lang]}, keeping the same friendly tone."
        elif tone == Tone.empathetic:
            instruction = "Make it warmer and more empathetic: acknowledge the customer's situation first."
        else:
            instruction = "Make it shorter and clearer: at most three sentences, no filler."
        if self.capable:
            generated = self._generated(text, instruction)
            if generated:
                return Rewrite(text=generated, tone=tone, language=lang, mode="generated")
            if tone == Tone.translation:
                return Rewrite(
                    text=text,
                    tone=tone,
                    language=lang,
                    mode="unavailable",
                    available=False,
                    message="The model's translation changed or dropped facts, so it was not used; translate by hand.",
                )
        rules = empathetic_rules(text) if tone == Tone.empathetic else concise_rules(text)
        return Rewrite(text=rules, tone=tone, language=lang, mode="rules")

    def _generated(self, text: str, instruction: str) -> str:
        prompt = self.prompts.render(
            "copilot_rewrite", instruction=instruction, text=text, delimiter=f"<<{secrets.token_hex(4)}>>"
        )
        try:
            out = self.chat.complete(prompt, GenerationParams(max_tokens=self.max_tokens, stop=("<<",))).text.strip()
        except UpstreamError:
            return ""
        if not out or set(_NUMBER.findall(text)) - set(_NUMBER.findall(out)):
            return ""  # a fact (number) was lost or changed
        return out

    def describe(self) -> dict[str, object]:
        return {"chat": self.chat.describe(), "capable": self.capable}
