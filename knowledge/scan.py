"""Prompt-injection signals, shared by the KB upload scan (here) and the bot's input
screen (``bot.guardrails``).

Two families of patterns:

* **direct** — what a jailbreak or injection says: "ignore previous instructions",
  "system prompt", DAN / developer mode, role-play markers, chat-template tokens,
  encoded payloads;
* **addressed to the assistant** — text inside a document that tells the *reader of the
  answer* what to do with "your response / your reply", the way indirect attacks
  (BIPIA) hide in web pages, e-mails and KB articles. A help-center article talks to
  customers about orders, never about "your response".

``scan_text`` splits an upload into sentences and returns the suspicious ones, so the
KB can flag them for the editor (``Article.flags``) and keep them out of the index until
an editor has looked (``quarantine``).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, replace

from knowledge.documents import Document

# (name, weight, pattern). A text is an attack when the weights it matches sum to >= 1.
_I = re.IGNORECASE
DIRECT: list[tuple[str, float, re.Pattern[str]]] = [
    (
        "ignore_instructions",
        1.0,
        re.compile(
            r"\b(?:ignore|disregard|forget|override|bypass|skip|drop)\b[^.\n]{0,40}?\b(?:all\s+|any\s+|the\s+|your\s+|my\s+)?"
            r"(?:previous|prior|above|earlier|preceding|initial|original|system|safety|content|old)?\s*"
            r"(?:instructions?|rules|prompts?|directives?|guidelines|guardrails|restrictions|polic(?:y|ies)|programming|filters?)\b",
            _I,
        ),
    ),
    (
        "system_prompt",
        1.0,
        re.compile(
            r"\b(?:system|initial|original|hidden|secret|developer|pre-?prompt)\s*(?:prompt|message|instructions?)\b"
            r"|\bpre-?prompt\b|\byour\s+(?:prompt|programming|initial\s+configuration)\b"
            r"|\b(?:starting|initial|original)\s+instructions\b|\b(?:initial|system)\s+configuration\b"
            r"|\binitiali[sz]ation\s+string\b|\byou\s+were\s+(?:given|told|instructed|programmed)\b"
            r"|\bI\s+was\s+(?:instructed|programmed)\s+to\b|\bmy\s+instructions\s+are\b"
            r"|\bbefore\s+this\s+conversation\s+(?:started|began)\b|\bnot\s+supposed\s+to\s+tell\b"
            r"|\b(?:administrator|admin|developer)\s+override\b|<\s*system_prompt\s*>",
            _I,
        ),
    ),
    (
        # "What are your instructions?" asks for them; "your instructions aren't working" (a
        # customer whose fix failed) only mentions them: half weight, another sign is needed.
        "your_instructions",
        0.5,
        re.compile(r"\byour\s+(?:instructions|rules|guidelines|directives)\b", _I),
    ),
    (
        "ask_for_instructions",
        1.0,
        re.compile(
            r"\b(?:what\s+(?:are|were)|reveal|print|show|display|list|repeat|recite|output|tell\s+me|give\s+me|share|"
            r"paste|write\s+out)\b[^.\n?]{0,30}?\byour\s+(?:\w+\s+)?(?:instructions|rules|guidelines|directives)\b",
            _I,
        ),
    ),
    (
        "repeat_above",
        1.0,
        re.compile(
            r"\b(?:repeat|print|output|echo|reveal|show|display|tell\s+me|write\s+out|recite|summari[sz]e|translate)\b"
            r"[^.\n]{0,40}?\b(?:the\s+)?(?:text|words|everything|instructions?|content|message|conversation)s?\s+"
            r"(?:above|before|preceding|at\s+the\s+(?:beginning|start)|back\s+to\s+me\s+word\s+for\s+word)"
            r"|\b(?:above|previous|preceding)\s+text\b|\bword\s+for\s+word\b",
            _I,
        ),
    ),
    (
        "jailbreak_persona",
        1.0,
        re.compile(
            r"\bDAN\b|\bdo\s+anything\s+now\b|\bdeveloper\s+mode\b|\bjail\s?-?break(?:s|ed|ing)?\b|\bSTAN\b|\bDUDE\b"
            r"|\bAIM\b|\bunfiltered\b|\buncensored\b|\bamoral\b|\bunethical\b|\bno\s+(?:ethical|moral)\b"
            r"|\bANTI-?DAN\b|\bevil\s+(?:confidant|mode|twin|AI|assistant|bot)\b|\bgod\s?mode\b|\bsudo\s+mode\b",
        ),
    ),
    (
        "no_restrictions",
        1.0,
        re.compile(
            r"\b(?:without|free\s+(?:of|from)|not?\s+(?:longer\s+)?(?:bound|restricted|limited)\s+by)\s+(?:any\s+)?"
            r"(?:restrictions|limitations|filters|censorship|guidelines|rules|boundaries|ethics|morals)\b"
            r"|\bno\s+(?:filters|censorship|ethics|morals|boundaries|guardrails)\b"
            r"|\bbroken\s+free\b|\bbreak\s+free\b|\bescaped?\s+the\s+(?:typical\s+)?confines\b"
            r"|\b(?:openai|anthropic|google)(?:'s)?\s+(?:content\s+)?polic(?:y|ies)\b",
            _I,
        ),
    ),
    (
        "role_play",
        0.6,
        re.compile(
            r"\b(?:you\s+are\s+(?:now|no\s+longer|going\s+to\s+(?:act|pretend|be))|from\s+now\s+on\b"
            r"|pretend\s+(?:to\s+be|you\s+are|that\s+you)|act\s+as\s+(?:an?\s+|my\s+)?(?!if\b)\w+"
            r"|role-?\s?play|stay\s+in\s+character|in\s+character|simulate\s+(?:a|an)\b|immerse\s+yourself"
            r"|respond\s+as\s+(?:both|two)|two\s+(?:different\s+)?(?:responses|personalities)|hypothetical\s+(?:AI|response|scenario|story))",
            _I,
        ),
    ),
    (
        "model_address",
        0.5,
        re.compile(
            r"\b(?:chatgpt|gpt-?[345]|openai|language\s+model|an\s+ai\b|ai\s+model|assistant's|large\s+language"
            r"|llm\b|the\s+ai\b|you,?\s+(?:the\s+)?(?:ai|assistant|bot|model))",
            _I,
        ),
    ),
    (
        "chat_template",
        1.0,
        re.compile(
            r"<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>|\[/?INST\]|<</?SYS>>|</?s>|<start_of_turn>"
            r"|^\s*#{2,}\s*(?:system|instruction|new\s+instructions?)\b|\bnew\s+instructions?\s*:",
            _I | re.MULTILINE,
        ),
    ),
    (
        "encoding_request",
        0.6,
        re.compile(
            r"\b(?:base\s?64|base\s?32|rot-?13|hex(?:adecimal)?\s+(?:encoded|string)|caesar\s+cipher|morse\s+code"
            r"|decode\s+(?:this|the\s+following)|encoded\s+(?:message|text|instructions))\b",
            _I,
        ),
    ),
]

# Weak signals: common in role-play jailbreaks, rare in a customer's question.
WEAK: list[tuple[str, float, re.Pattern[str]]] = [
    (
        "prompt_engineering",
        0.4,
        re.compile(
            r"\b(?:I\s+want\s+you\s+to|your\s+(?:task|job|role)\s+is|you\s+will\s+(?:now\s+)?(?:act|respond|answer|be)"
            r"|let'?s\s+play\s+a\s+game|imagine\s+(?:that\s+)?(?:you|we)|persona|character|prompt|\bHuman:|\bAssistant:"
            r"|two\s+(?:different\s+)?ways|in\s+the\s+voice\s+of|you\s+can'?t\s+break|never\s+(?:refuse|break)"
            r"|always\s+(?:answer|respond|stay)|\[INPUT\]|\[OUTPUT\])",
            _I,
        ),
    ),
]

ADDRESSED: list[tuple[str, float, re.Pattern[str]]] = [
    (
        "your_response",
        1.0,
        re.compile(
            r"\byour\s+(?:response|answer|reply|replies|output)s?\b"
            r"|\b(?:encode|translate|invert|reverse|encrypt|cipher|emoji)\w*\b[^.\n]{0,40}\byour\s+message\b"
            r"|\b(?:respond|reply|answer)\s+(?:only\s+)?(?:using\s+\w+|backwards?|in\s+reverse|in\s+(?:base|code|cipher|emoji)\w*)"
            r"|\b(?:respond|reply|answer)\s+(?:only\s+)?in\s+(?:spanish|french|german|italian|portuguese|dutch|russian"
            r"|chinese|japanese|korean|arabic|hindi|turkish|polish|swedish)\s*[.?!]*\s*$",
            _I,
        ),
    ),
    (
        "to_the_assistant",
        1.0,
        re.compile(
            r"\b(?:AI|assistant|chatbot|bot|model|language\s+model)\s*(?:reading\s+this|:|,\s*(?:please|you\s+must))"
            r"|\bnote\s+to\s+(?:the\s+)?(?:AI|assistant|bot|model)\b|\bif\s+you\s+are\s+an?\s+(?:AI|assistant|bot|LLM)\b",
            _I,
        ),
    ),
]

LONG_MESSAGE_CHARS = 400
_B64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/])")
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=[^\s.!?\"')]))+[.!?]*[\"')]?")


@dataclass(frozen=True)
class Signal:
    name: str
    weight: float
    match: str


def _decoded_payloads(text: str) -> list[str]:
    out: list[str] = []
    for m in _B64.finditer(text):
        chunk = m.group()
        try:
            decoded = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if sum(ch.isprintable() for ch in decoded) >= 0.9 * len(decoded):
            out.append(decoded)
    return out


def signals(text: str, *, addressed: bool = False, _depth: int = 0) -> list[Signal]:
    """Every injection signal in ``text``; with ``addressed`` also the signals of text
    that speaks to an assistant about its response (documents, CRM notes)."""
    found: list[Signal] = []
    families = DIRECT + WEAK + (ADDRESSED if addressed else [])
    for name, weight, rx in families:
        m = rx.search(text)
        if m:
            found.append(Signal(name, weight, m.group()[:80]))
    if found and len(text) > LONG_MESSAGE_CHARS and not addressed:
        # A customer question is short; a long message that also talks like a prompt is a jailbreak.
        found.append(Signal("long_prompt", 0.5, f"{len(text)} characters"))
    if _depth == 0:
        for payload in _decoded_payloads(text):
            inner = signals(payload, addressed=addressed, _depth=1)
            found.append(Signal("encoded_payload", 0.6 + sum(s.weight for s in inner), payload[:80]))
    return found


def score(found: list[Signal]) -> float:
    return round(min(sum(s.weight for s in found), 3.0), 3)


@dataclass(frozen=True)
class SuspiciousPassage:
    """A sentence of an upload that looks like an instruction to the assistant."""

    start: int
    end: int
    text: str
    score: float
    reasons: tuple[str, ...]

    def as_flag(self) -> dict[str, object]:
        """The JSON kept in ``Article.flags`` for the editor."""
        return {
            "kind": "suspected_injection",
            "text": self.text[:300],
            "score": self.score,
            "reasons": list(self.reasons),
        }


QUARANTINE_TEXT = "[passage withheld for editor review]"


def scan_text(text: str, threshold: float = 1.0) -> list[SuspiciousPassage]:
    """The sentences of an upload (KB article, CRM note) that read as instructions to
    the assistant; each is a candidate for the editor's review."""
    out: list[SuspiciousPassage] = []
    for m in _SENTENCE.finditer(text):
        sentence = m.group()
        if len(sentence.strip()) < 8:
            continue
        found = signals(sentence, addressed=True)
        total = score(found)
        if total >= threshold:
            lead = len(sentence) - len(sentence.lstrip())
            out.append(
                SuspiciousPassage(
                    m.start() + lead, m.end(), sentence.strip(), total, tuple(sorted({s.name for s in found}))
                )
            )
    return out


def quarantine(text: str, passages: list[SuspiciousPassage]) -> str:
    """``text`` with the suspicious sentences replaced by a marker (for the index)."""
    parts: list[str] = []
    pos = 0
    for p in sorted(passages, key=lambda p: p.start):
        parts.append(text[pos : p.start])
        parts.append(QUARANTINE_TEXT)
        pos = p.end
    parts.append(text[pos:])
    return "".join(parts)


__all__ = [
    "ADDRESSED",
    "guard_document",
    "DIRECT",
    "QUARANTINE_TEXT",
    "Signal",
    "SuspiciousPassage",
    "quarantine",
    "scan_text",
    "score",
    "signals",
]


def guard_document(doc: Document) -> tuple[Document, list[dict[str, object]]]:
    """What an upload goes through before it is chunked and embedded: card numbers, CVVs,
    IBANs, national ids and secrets are redacted (the help center's own e-mail and phone
    stay), and suspicious passages are quarantined; the flags are for the editor."""
    from core.redaction import KB_KINDS, default_redactor

    redactor = default_redactor()
    title = redactor.redact(doc.title, kinds=KB_KINDS).text
    body = redactor.redact(doc.body, kinds=KB_KINDS).text
    found = scan_text(body)
    if found:
        body = quarantine(body, found)
    if title == doc.title and body == doc.body:
        return doc, []
    return replace(doc, title=title, body=body), [p.as_flag() for p in found]
