"""Is the customer asking us to *do* something, or asking *about* something?

"How long do refunds take after a cancellation?" is a question the help centre answers;
"Can you cancel my booking?" asks us to act. An action starts only when the intent
classifier (or the evidence of the action's own words, ``bot.actions.detect``) names it
*and* the message has the form of a request:

- a request phrase in a sentence: "I'd like to / I want to / I need to", "can/could/would
  you", "can I …", "please", "… for me", or an imperative that opens with a verb (the
  first word of one of the tenant's action names counts as one: "submit", "check", "cancel");
- for a read action, a look-up of the customer's own things ("where is my order?", "what's
  my balance?", "how much data have I used?") or an "is there …?" question ("is there a
  power cut?");

and no sentence that carries the request is a how/why question, a conditional ("if I …"),
or says the customer is unsure what to do ("I'm not sure which numbers …") — those are help
questions the knowledge base answers. English forms; other languages fall back to the
knowledge base (an action is never started on a guess).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["is_request"]

_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_REQUEST = re.compile(
    r"\b(?:i'?d|i would|i want|i wanna|i need|i wish|i'?m trying|i am trying|i'?m looking|i am looking)"
    r"(?: you)? to\b"
    r"|\b(?:can|could|would|will) you\b"
    r"|^\s*(?:(?:hi|hello|hey|ok|okay|so|and|also|then)\b[,!]?\s*)*(?:please\s+)?(?:can|could|may) i\b"
    r"|\bplease\b|\bfor me\b|\bi'?d like\b|\bi would like\b|\blet me\b|\bhelp me\b",
    re.I,
)
_OWN_LOOKUP = re.compile(
    r"\b(?:where|what|when|how much|how many)(?:'s|\s+is|\s+are|\s+was|\s+were)?\s+(?:\w+\s+)?my\b"
    r"|^\s*(?:is|are)\s+there\b|\bmy\b",
    re.I,
)
_INFO = re.compile(r"^\s*(?:(?:and|but|so|also|ok|okay)\s+)?(?:how|why|which|who|whom|whose|what|when|where)\b", re.I)
_OWN_QUESTION = re.compile(
    r"^\s*(?:where|what|when|how much|how many)(?:'s)?(?:\s+\w+){0,2}?\s+my\b"
    r"|^\s*(?:what|when|how much|how many)\b[^?]*\b(?:have|did)\s+i\b",
    re.I,
)
_CONDITIONAL = re.compile(r"^\s*(?:even\s+)?if\b|,\s*if\b|\bwhat happens\b|\bwhat if\b", re.I)
_UNSURE = re.compile(
    r"\b(?:not sure|unsure|no idea|don'?t know|do not know|don'?t understand|confused)\b|\bhow (?:do|can|should) i\b",
    re.I,
)
_LEAD = re.compile(r"^\s*(?:(?:hi|hello|hey|ok|okay|so|and|also|then|please)\b[,!]?\s*)*", re.I)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCES.split(text) if s.strip()]


def _vetoed(sentence: str) -> bool:
    if _UNSURE.search(sentence) or _CONDITIONAL.search(sentence):
        return True
    return bool(_INFO.match(sentence)) and not _OWN_QUESTION.match(sentence)


def _imperative(sentence: str, verbs: frozenset[str]) -> bool:
    rest = _LEAD.sub("", sentence.lower())
    first = rest.split(" ", 1)[0] if rest else ""
    return first in verbs


def is_request(text: str, *, read: bool, verbs: Iterable[str] = ()) -> bool:
    """True when ``text`` asks us to act (see the module docstring). ``read``: the candidate
    action only reads (own look-ups count as requests); ``verbs``: words that open an
    imperative (the first words of the tenant's action names)."""
    vs = frozenset(v.lower() for v in verbs if v)
    for sentence in _sentences(text):
        if _vetoed(sentence):
            continue
        if _REQUEST.search(sentence) or _imperative(sentence, vs):
            return True
        if read and (_OWN_LOOKUP.search(sentence) or _OWN_QUESTION.match(sentence)):
            return True
    return False
