"""Handoff triggers that read the customer's words: an explicit request for a person, frustration,
the given steps not working, and the customer repeating themselves.

Deterministic (patterns over the grammar of a request, a small lexicon, embedding similarity),
so they work with any chat model and any company: nothing here names a product, a company or
an industry. Requests are negation-aware ("I don't need to talk to a person" is not one).
Sensitive topics (fraud, legal threats, bereavement, cancellation, the tenant's own topics)
live in ``bot.sensitive``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bot.grounding import content_words
from core.models.embed import Embedder

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})


def plain(text: str) -> str:
    """Typographic quotes and dashes as plain ones (customers type both)."""
    return text.translate(_QUOTES)


# -- negation ---------------------------------------------------------------------------

_CLAUSE_BREAK = re.compile(r"[.;!?,]|\b(?:but|instead|rather)\b", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(?:not|never|no|without|don'?t|do not|doesn'?t|does not|didn'?t|did not|won'?t|wouldn'?t|"
    r"no need|needn'?t|shouldn'?t|isn'?t|aren'?t)\b|n't\b",
    re.IGNORECASE,
)


# "I don't know how to …", "not sure how to …", "I can't get through to …" want the thing, they do not refuse it.
_NOT_A_REFUSAL = re.compile(
    r"\b(?:don'?t|do not|doesn'?t|does not|didn'?t|did not|not)\s+(?:\w+\s+)?(?:know|sure|understand|see|find)\b"
    r"(?:\s+\w+){0,3}?\s+(?:how|what|where|who|whether|if|which|the way)\b|\b(?:can'?t|cannot|couldn'?t|unable to)\b",
    re.IGNORECASE,
)


def negated(text: str, start: int, window: int = 6) -> bool:
    """Is the phrase starting at ``start`` negated within its clause (up to ``window`` words before)?
    Not knowing how ("I don't know how to talk to an agent") and not being able to ("I can't get
    through to anyone") are no negation of wanting it."""
    before = text[:start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    clause = before[breaks[-1].end() :] if breaks else before
    clause = _NOT_A_REFUSAL.sub(" ", clause)
    words = clause.split()[-window:]
    return bool(_NEGATION.search(" ".join(words)))


def _first_unnegated(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    for match in pattern.finditer(text):
        if not negated(text, match.start()):
            return match
    return None


# -- explicit request for a person ------------------------------------------------------

_PERSON = (
    r"(?:(?:a|an|the|some|one of your|any of your|your)\s+(?:[a-z]+\s+)?)?"
    r"(?:(?<=\ba )assistant|(?<=\ban )assistant|(?<=human )assistant|(?<=live )assistant|"
    r"human(?: being| agent)?s?|real person|actual person|live person|real human|person|people|someone|somebody|"
    r"anyone|anybody|(?:live |real |human |customer service |support )?agents?|representatives?|reps?|operators?|"
    r"advis[eo]rs?|consultants?|staff|member of (?:your |the )?(?:staff|team)|colleagues?|your team|the team|"
    r"customer (?:service|support|care|services)(?: team| department| desk)?|support team|help ?desk|"
    r"supervisor|manager|team leader)"
)
_REQUEST_FORMS = re.compile(
    r"\b(?:speak|talk|chatt?|communicate|deal)(?:ing)? (?:to|with) " + _PERSON + r"\b"
    r"|\b(?:connect|transfer|put|pass|escalate|forward|hand|send)(?:ing)? (?:me|this|my (?:chat|query|case))?\s*"
    r"(?:through |over |on )?(?:to|with) " + _PERSON + r"\b"
    r"|\bput me through\b"
    r"|\b(?:contact\w*|reach\w*|get hold of|get in touch with|get through to|call\w*)\s+"
    r"(?:a |an |the |some |one of your |your )?"
    r"(?:human(?: agent)?|real person|live person|person|someone|somebody|(?:live |real |human )?agent|representative|"
    r"operator|advis[eo]r|member of (?:your |the )?(?:staff|team))\b"
    r"|\b(?:get|give|find) me " + _PERSON + r"\b"
    r"|\b(?:i|we) (?:want|need|would like|'d like|d like|wanna|would prefer|'d prefer|'d rather|would rather)"
    r"(?: to (?:have|get|reach|contact|see|call))? " + _PERSON + r"\b"
    r"|\b(?:sort|deal with|handle|discuss|resolve|fix) (?:this|it|that|things)(?: out)? with " + _PERSON + r"\b"
    r"|\bis (?:there )?(?:anyone|anybody|someone|somebody|a (?:real )?(?:person|human)|an agent)"
    r"(?: (?:there|around|about|available|in|real|human|(?:i|we) (?:can|could) (?:talk|speak|chat)))\b"
    r"|\b(?:call|ring|phone) me(?: back)?\b|\bcall ?back\b",
    re.IGNORECASE,
)
# "I'd rather … than type to a computer", "stop making me talk to a bot", "not a bot".
_MACHINE = r"(?:a |an |the |this |your )?(?:bot|robot|machine|computer|chat ?bot|automated \w+|ai|virtual assistant)\b"
_NOT_A_MACHINE = re.compile(
    r"\b(?:rather|prefer\w*)\b.{0,80}\bthan (?:\w+ ){0,3}(?:to |with )?"
    + _MACHINE
    + r"|\b(?:don'?t|do not|doesn'?t|won'?t|not|stop|sick of|tired of|fed up (?:with|of))\b.{0,25}"
    r"\b(?:talk|chat|speak|typ)\w* (?:to|with) " + _MACHINE,
    re.IGNORECASE,
)
_BARE_PERSON = re.compile(
    r"^\W*(?:an? |the )?(?:human|real person|live agent|agent|representative|operator|person)"
    r"(?: please| pls| now| plz)?\W*$",
    re.IGNORECASE,
)


def explicit_request(text: str) -> bool:
    """Does the customer ask for a person? Negated requests ("I don't need to talk to anyone,
    just …") are not requests; "I don't want to talk to a bot" is one."""
    text = plain(text)
    if _BARE_PERSON.match(text) or _NOT_A_MACHINE.search(text):
        return True
    return _first_unnegated(_REQUEST_FORMS, text) is not None


def without_request(text: str) -> str:
    """``text`` without its request for a person ("I want to talk to a person about a payment
    problem" → "I want about a payment problem"): what is left says what it is about."""
    text = plain(text)
    text = _REQUEST_FORMS.sub(" ", text)
    text = _NOT_A_MACHINE.sub(" ", text)
    return " ".join(_BARE_PERSON.sub(" ", text).split())


def declines_person(text: str) -> bool:
    """The customer says they do not want a person ("I don't need to talk to anyone, just …"):
    a request form that is negated. An intent classifier's "speak to a human" yields to this."""
    text = plain(text)
    return any(negated(text, m.start()) for m in _REQUEST_FORMS.finditer(text)) or bool(
        re.search(r"\bno need (?:for|to (?:talk|speak|chat)|to be (?:transferred|connected))\b", text, re.IGNORECASE)
    )


# -- frustration --------------------------------------------------------------------------

_INSULT = re.compile(
    r"\b(stupid|idiot\w*|useless|incompetent|pathetic|joke|rubbish|garbage|crap|shit\w*|wtf|"
    r"worst|hate (?:you|this)|clowns?|morons?)\b",
    re.IGNORECASE,
)
_STRONG = re.compile(
    r"\b(ridiculous|unacceptable|outrageous|furious|livid|angry|fed up|sick of|sick and tired|disgusting|disgraceful|"
    r"shocking|appalling|terrible|horrible|awful|are you kidding|kidding me|never again|waste of (?:time|money)|"
    r"enough is enough|(?:nobody|no one|no-one)\b[\w' ]{0,30}\bcares|(?:you|they) (?:don'?t|do not) care|had enough|"
    r"last straw|"
    r"(?:is|are) (?:this|that) how (?:you|they) treat|how (?:i'?m|i am|we'?re|we are) (?:being )?treated)\b",
    re.IGNORECASE,
)
# The customer dismisses what the bot just said.
_DISMISSIVE = re.compile(
    r"\b(?:that'?s|that is|this is|it'?s|it is|what) (?:just |all |a lot of |more |complete |total |utter )?"
    r"(?:generic|useless|rubbish|nonsense|gibberish|no help|not helpful|unhelpful|pointless|not what i asked|"
    r"a non-answer|not an answer|copy and paste|canned)\b"
    r"|\byou(?:'re| are)n?'?t (?:listening|helping|reading)\b|\byou(?:'re| are) not (?:listening|helping|reading)\b"
    r"|\b(?:didn'?t|did not|doesn'?t|does not) answer my question\b",
    re.IGNORECASE,
)
_MILD = re.compile(
    r"\b(annoying|annoyed|frustrat\w*|disappointed|upset|unhappy|not happy|not good enough|damn|bloody|"
    r"still (?:not|no|hasn't|haven't|doesn't)|again|ugh|come on|seriously)\b",
    re.IGNORECASE,
)
_POSITIVE = re.compile(r"\b(thanks?|thank you|great|perfect|awesome|helpful|appreciate|love)\b", re.IGNORECASE)


def _count(pattern: re.Pattern[str], text: str, cap: int = 2) -> int:
    return min(cap, sum(1 for m in pattern.finditer(text) if not negated(text, m.start(), window=2)))


# A pure function of the text, asked for the customer's last three messages on every turn:
# the two earlier ones were scored by the conversation's previous turns (2,048 texts: three
# for each of hundreds of conversations at once).
@lru_cache(maxsize=2048)
def negativity(text: str) -> float:
    """0 (calm) .. ~3 (abusive) for one message: insults 1.0, strong words and a dismissal of the
    bot's answer 0.6, mild words 0.3 (each at most twice), shouting 0.5, "!!" 0.2. A word right
    after a negation ("I'm not angry") does not count."""
    text = plain(text)
    score = 1.0 * _count(_INSULT, text)
    score += 0.6 * _count(_STRONG, text)
    score += 0.6 * _count(_DISMISSIVE, text, cap=1)
    score += 0.3 * _count(_MILD, text)
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        score += 0.5  # shouting
    if re.search(r"[!?]{2,}", text):
        score += 0.2
    return score


def sentiment(texts: list[str]) -> float:
    """-1 (very negative) .. 1 (positive) over the customer's recent messages."""
    if not texts:
        return 0.0
    neg = sum(negativity(t) for t in texts[-3:])
    pos = sum(0.4 for t in texts[-3:] if _POSITIVE.search(t))
    return float(max(-1.0, min(1.0, (pos - neg) / 1.5)))


def frustrated(texts: list[str], threshold: float) -> bool:
    """Summed negativity of the last three customer messages reaches ``threshold``."""
    return sum(negativity(t) for t in texts[-3:]) >= threshold


# -- the given steps did not work ---------------------------------------------------------

# The customer followed the advice (or tried again) ...
_FOLLOWED = re.compile(
    r"\b(?:like|as) you (?:said|told me|suggested|advised|asked)\b|\byou (?:told|asked) me to\b|"
    r"\b(?:your|the|those|these) (?:instructions|steps|advice|suggestions?|solution|tips?|troubleshooting|guide)\b|"
    r"\b(?:already|have|'ve|just) (?:did|done|tried|followed|restarted|reset|checked|rebooted)\b|"
    r"\b(?:tried|done|did) (?:it|that|this|everything|again|twice|both|all|them)\b|"
    r"\b(?:tried|followed|did) (?:what|everything) (?:you|it)\b|\bno (?:luck|joy|change|difference)\b",
    re.IGNORECASE,
)
_PERSISTS = re.compile(r"\b(?:still|again|same)\b", re.IGNORECASE)
# ... and it still fails.
_FAILED = re.compile(
    r"\b(?:not|isn'?t|aren'?t|doesn'?t|don'?t|didn'?t|won'?t|wont|hasn'?t|haven'?t|can'?t|cannot|never)\b|"
    r"\bn't\b|\bstill no\b|\b(?:nothing|no luck|no joy|no change|no difference|rejected|refused|declined|failed|"
    r"fails|failing|error|invalid|same (?:problem|issue|error|message|thing)|blank|frozen|stuck|broken|useless)\b",
    re.IGNORECASE,
)


def reports_failure(text: str) -> bool:
    """The customer says they did what they were told and it still fails ("I did what you said
    and the light still blinks"), or that it fails again ("tried again, still rejected").
    Only meaningful after the bot has given an answer."""
    text = plain(text)
    followed, persists, failed = (bool(p.search(text)) for p in (_FOLLOWED, _PERSISTS, _FAILED))
    return (followed and (failed or persists)) or (persists and failed)


# -- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class TriggerConfig:
    explicit_request: bool = True
    sensitive_topics: bool = True
    frustration: bool = True
    repetition: bool = True
    no_answer: bool = True
    after_hours: bool = True
    cancellation: bool = True
    frustration_threshold: float = 1.0  # summed negativity over the last 3 customer messages
    repeat_similarity: float = 0.6
    repeat_limit: int = 2  # consecutive messages that repeat an earlier one
    failure_limit: int = 2  # reports that the given steps did not work
    no_answer_limit: int = 2

    @classmethod
    def from_config(cls, config: dict[str, object]) -> TriggerConfig:
        raw = config.get("handoff_triggers")
        if not isinstance(raw, dict):
            return cls()
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in fields})


class RepetitionDetector:
    def __init__(self, embedder: Embedder, similarity: float = 0.6) -> None:
        self.embedder = embedder
        self.similarity = similarity

    def is_repeat(self, texts: list[str], window: int = 4) -> bool:
        """Does the last message say what one of the earlier ones (within ``window``) said?"""
        if len(texts) < 2:
            return False
        last, earlier = texts[-1], texts[-1 - window : -1]
        lw = content_words(last)
        vecs = self.embedder.embed([last, *earlier])
        sims = np.atleast_1d(vecs[1:] @ vecs[0])
        for text, sim in zip(earlier, sims, strict=True):
            ew = content_words(text)
            jaccard = len(lw & ew) / len(lw | ew) if lw | ew else 0.0
            if float(sim) >= self.similarity or (len(lw) >= 2 and jaccard >= 0.6):
                return True
        return False


__all__ = [
    "RepetitionDetector",
    "TriggerConfig",
    "declines_person",
    "explicit_request",
    "frustrated",
    "negated",
    "negativity",
    "plain",
    "reports_failure",
    "sentiment",
    "without_request",
]
