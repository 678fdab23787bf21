"""Sensitive topics: what a person must handle, and what the bot answers with care.

Two sources, checked in this order (``SensitiveDetector.detect``):

1. the tenant's **emergency** topics (``policy: emergency``): answered at once, never handed off first;
2. the product's own categories, read from the grammar of the message (domain-general: no
   company, product or industry words): a **legal** threat (solicitors, court, regulator or
   ombudsman threats as statements, not questions), **fraud** (scams, identity theft,
   unauthorised payments, account takeover, details given to a fake site), a **bereavement**
   (a death reported — an executor's procedural question is not one), and **cancellation**
   (a statement that the customer is leaving: "please close my account", "I'd like to cancel
   my contract", "I've found a cheaper deal elsewhere" — "how much is the fee if I leave?" is a
   question, answered from the KB);
3. the tenant's other topics (``TenantPolicy.sensitive_topics``), whose ``examples`` are matched
   by meaning with the embedder (cosine similarity >= ``similarity``, default 0.62 for MiniLM:
   paraphrases of one request sit at 0.65-0.9, a different request on the same subject at
   0.35-0.6; measured with ``python -m bench bot_handoff --public``).

A tenant topic whose examples the product recognises as one of its categories (the tenant's
"legal_threat" examples read as legal threats) lends that category its queue, priority, skill
and policy, and records the category's reason (``sensitive_legal``) unless it names its own
``reason``. Every category is negation-aware ("I'm not going to sue anyone").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from bot.triggers import negated, plain
from core.models.embed import Embedder
from core.tenancy.config import SensitiveTopic
from core.text import split_sentences
from core.types import HandoffReason

# -- the product's categories ----------------------------------------------------------------

_KIN = (
    r"(?:dad|daddy|father|mum|mom|mummy|mother|mam|husband|wife|partner|spouse|son|daughter|child|baby|brother|"
    r"sister|grand\w+|gran|granny|nan|nana|uncle|aunt|auntie|cousin|nephew|niece|friend|flatmate|housemate|"
    r"neighbou?r|relative|parents?|fianc\w+|boyfriend|girlfriend|other half|loved one|step\w+|\w+-in-law|"
    r"account holder|customer|occupant|tenant|landlord|family member)"
)
_BEREAVEMENT = re.compile(
    r"\b(?:my|our|his|her|their|the) (?:\w+ )?" + _KIN + r"(?:'s)?\b[\w' ,]{0,40}?\b"
    r"(?:died|has died|had died|passed away|passed on|has passed|is dead|was killed|didn'?t survive)\b"
    r"|\b(?:he|she|they) (?:has |have |had |just |recently )*(?:died|passed away|passed on)\b"
    r"|\bpassed away\b|\b(?:death|loss|passing) of (?:my|our|his|her|a)\b"
    r"|\b(?:my|our) late " + _KIN + r"\b|\blost my " + _KIN + r"\b|\bbereave\w*\b|\bfuneral\b|\bwidowed\b",
    re.IGNORECASE,
)

_FRAUD = re.compile(
    r"\bfraud\w*\b(?!\s+(?:team|desk|department|unit|line|prevention|squad|officer|investigators?|extension))"
    r"|\bphish\w*\b|\bidentity (?:theft|fraud)\b|\bunauthori[sz]ed\b|\bhack(?:ed|er|ers|ing)\b"
    r"|\b(?:someone|somebody|a stranger|strangers|scammers?|fraudsters?|criminals?|hackers?|a third party)\b"
    r"[\w' ]{0,25}\b(?:used|using|uses|stole|stolen|taken|took|accessed|opened|changed|moved|switched|transferred|"
    r"set up|got into|broke into|has got into|logged in|signed in|impersonat\w+|pretend\w*)\b"
    r"|\b(?:stole|stolen|cloned|compromised)\b[\w' ]{0,15}"
    r"\b(?:identity|details|card|account|password|login|phone|sim)\b"
    r"|\b(?:identity|details|card|account|password|login)\b[\w' ]{0,15}\b(?:was|were|has been|have been|got|is) "
    r"(?:stolen|cloned|compromised|taken over|hijacked)\b"
    r"|\b(?:opened|set up|created|took out|taken out|registered|started)\b[\w' ]{0,30}\bin my name\b"
    r"|\bin my name\b[\w' ]{0,40}\b(?:never|didn'?t|did not|not me|without)\b"
    r"|\b(?:that|which) (?:i|we) (?:didn'?t|did not|never) (?:make|authori[sz]e|recogni[sz]e|request|approve)\b"
    r"|\b(?:payments?|charges?|transactions?|purchases?|withdrawals?|debits?|transfers?)\b[\w' ]{0,30}\b(?:i|we) "
    r"(?:really |definitely |certainly )?(?:didn'?t|did not|never|don'?t|do not) (?:make|authori[sz]e|recogni[sz]e|"
    r"do|perform|buy|purchase|remember|order)\b"
    r"|\b(?:unfamiliar|unknown|strange|suspicious|bogus|fake|false|fraudulent|random|mystery|unusual) "
    r"(?:card )?(?:payments?|charges?|transactions?|merchants?|purchases?|withdrawals?|debits?|logins?|sign-ins?)\b"
    r"|\b(?:payments?|charges?|transactions?|purchases?|withdrawals?|debits?)\b[\w' ]{0,40}\b"
    r"(?:that'?s not|that is not|that isn'?t|isn'?t|is not|its not|it'?s not|aren'?t|are not|weren'?t|were not|"
    r"wasn'?t|was not|not) "
    r"(?:mine|made by me|done by me|"
    r"by me|authori[sz]ed by me)\b"
    r"|\b(?:didn'?t|did not|haven'?t|have not|never) (?:do|did|done|made|make) (?:this|these|that|those|the|any)\s+"
    r"(?:card )?(?:payments?|charges?|transactions?|purchases?|withdrawals?)\b"
    r"|\b(?:someone|somebody|a stranger)(?: else)? (?:has|have|had|might have|may have|got|has got|could have) "
    r"(?:access to|hold of|into) my\b|\bnot familiar with (?:this|that|the|a)\b[\w' ]{0,15}\b(?:payment|charge|"
    r"transaction)"
    r"|\b(?:didn'?t|did not|never|don'?t|do not) (?:make|authori[sz]e|recogni[sz]e|request|approve|agree to)\b"
    r"[\w' ]{0,20}\b(?:payments?|charges?|transactions?|purchases?|withdrawals?|transfers?|debits?|loans?|login|"
    r"sign-in)\b"
    r"|\bwithout my (?:consent|permission|knowledge|authori[sz]ation|agreement)\b"
    r"|\b(?:unexpected(?:ly)?|out of the blue|(?:didn'?t|did not|never) (?:ask|asked|request|requested) (?:for )?)"
    r"[\w' ]{0,40}\b(?:codes?|otp|passcode|one-time|verification|security alert|password reset|login alert)\b"
    r"|\bcodes?\b[\w' ]{0,40}(?:\b(?:i|we) (?:didn'?t|did not|never) (?:ask|request)|\bout of the blue|"
    r"\bunexpected(?:ly)?)"
    r"|\bscam\w*\b",
    re.IGNORECASE,
)
# "this is a scam" / "your prices are a scam" is a complaint about the company, not a fraud report.
_SCAM_AS_INSULT = re.compile(
    r"\b(?:(?:this|that|you|you guys|your|the whole)(?:\s+(?P<noun>[\w-]+))??\s+(?:is|are|was|were)|what|such)\s+"
    r"(?:a\s+|an\s+|such\s+a\s+)?(?:total\s+|complete\s+|absolute\s+|utter\s+|bloody\s+|fucking\s+)?scam\b",
    re.IGNORECASE,
)
# "this e-mail is a scam" reports one; "this service is a scam" is a complaint.
_CONTACT_NOUNS = frozenset(
    "email e-mail mail text sms message call caller letter link website site page app offer number".split()
)
_DISCLOSED = re.compile(
    r"\b(?:gave|given|give|entered|put|typed|shared|sent|told|handed over|filled in)\b[\w' ]{0,15}\b(?:my|our) "
    r"(?:\w+ )?(?:details|password|pin|passcode|code|number|information|info|login)\b",
    re.IGNORECASE,
)
_SUSPICIOUS = re.compile(
    r"\b(?:scam\w*|fake|phish\w*|suspicious|fraud\w*|not genuine|not real|dodgy|link(?:ed)?|website|caller|"
    r"pretending|worried|stranger)\b",
    re.IGNORECASE,
)

_LEGAL = re.compile(
    r"\b(?:lawyers?|attorneys?|solicitors?|barristers?|legal (?:action|proceedings|team|representation|claim)|"
    r"lawsuit|law ?suit|litigation|class action|sue|suing|sued)\b"
    r"|\b(?:small claims|county court|court (?:action|case|claim|proceedings|order))\b"
    r"|\b(?:take|taking|took|drag|dragging|see|seeing)\b[\w' ]{0,30}\b(?:to|in) (?:the )?(?:\w+ )?court\b"
    r"|\bserv(?:e|ing) (?:the |you with |them with )?papers\b",
    re.IGNORECASE,
)
# A regulator or ombudsman threat is a statement of what the customer will do, not a question about it.
_REGULATOR_THREAT = re.compile(
    r"\b(?:i'?m|i am|i will|i'?ll|i shall|we will|we'?ll|we'?re|we are|going to|gonna|about to|i'?ve already|"
    r"i have already)\b[\w' ]{0,25}\b(?:go|going|take|taking|report|reporting|complain|complaining|contact|"
    r"contacting|escalate|escalating|write|writing|refer|referring|gone|taken|reported|complained|contacted|"
    r"escalated|written)\b[\w' ]{0,30}\b(?:ombudsman|regulators?|trading standards|watchdog|authorities|police|"
    r"press|media|newspapers?)\b",
    re.IGNORECASE,
)

_LEAVE_OBJECT = (
    r"(?:(?:my|our|the|this|your|a|an)\s+)?(?:[\w-]+ ){0,2}?(?:account|contract|subscription|membership|service|"
    r"services|plan|policy|agreement|supply|tariff|line|package|deal|customer account)\b"
)
_LEAVING = re.compile(
    r"\b(?:cancel\w*|close|closing|terminat\w*|end|ending|quit|quitting|delete|deleting|deactivat\w*|stop|"
    r"stopping|remove|removing|discontinu\w*|shut(?:ting)? down|get rid of)\b "
    + _LEAVE_OBJECT
    + r"|\b(?:leave|leaving|quit|quitting|ditch\w*|dump\w*)\s+(?:you\b|you guys|your (?:company|service|business)|"
    r"{company})"
    r"|\b(?:switch\w*|mov\w+|go|going|chang\w+)\s+(?:away\b|(?:over )?to (?:a |an )?(?:another|different|new|cheaper|"
    r"other|rival)\s+(?:supplier|provider|company|bank|network|carrier|insurer|operator|firm|competitor)s?\b)"
    r"|\bswitch(?:ing)? (?:supplier|provider|bank|network|carrier|insurer)s?\b"
    r"|\b(?:found|got|getting|signed up (?:for|to|with)|going with)\b[\w' ]{0,15}\b(?:cheaper|better)\b"
    r"[\w' ]{0,15}\b(?:deal|offer|price|quote|provider|supplier|tariff|elsewhere)\b"
    r"|\btake my (?:business|custom|money) elsewhere\b",
    re.IGNORECASE,
)
# A statement of intent or a request (not "how do I …", "can I …", "if I …").
_INTENT = re.compile(
    r"\b(?:i|we)(?: (?:want|would like|d like|wish|need|intend|plan|am|have decided|decided|will)|"
    r"'(?:m|d like|d rather|ve decided|ll))\b|(?:^|[,;:]\s*)(?:please\s+)?(?:cancel|close|terminate|end|delete|"
    r"stop|remove|deactivate|discontinue|shut down)\b|\bplease\b|\b(?:considering|thinking (?:of|about))\b",
    re.IGNORECASE,
)
_COMMUNICATIONS = re.compile(
    r"\b(?:newsletters?|mailing|e-?mails?|marketing|notifications?|alerts?|sms|texts?|messages?|promotions?)\b",
    re.IGNORECASE,
)
_QUESTION_START = re.compile(
    r"^\s*(?:how|what|when|where|why|which|who|can|could|do|does|did|is|are|will|would|should|if)\b", re.IGNORECASE
)
_CONDITIONAL = re.compile(r"\b(?:if|when|whether|in case) (?:i|we)\b", re.IGNORECASE)


def _unnegated(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    for m in pattern.finditer(text):
        if not negated(text, m.start(), window=5):
            return m
    return None


def _sentences(text: str) -> list[str]:
    return [s for s in (split_sentences(text) or [text]) if s.strip()]


def legal_threat(text: str) -> str | None:
    """The phrase that makes ``text`` a legal threat, or None."""
    text = plain(text)
    m = _unnegated(_LEGAL, text)
    if m is not None:
        return m.group(0)
    for sentence in _sentences(text):
        if _QUESTION_START.match(sentence):
            continue  # "how do I complain to the ombudsman?" asks how
        m = _unnegated(_REGULATOR_THREAT, sentence)
        if m is not None:
            return m.group(0)
    return None


def fraud(text: str) -> str | None:
    """The phrase that makes ``text`` a fraud or account-takeover report, or None."""
    text = plain(text)
    for m in _FRAUD.finditer(text):
        own_negation = m.group(0).lower().startswith(("didn", "did not", "never", "don"))
        if negated(text, m.start(), window=4) and not own_negation:
            continue
        if m.group(0).lower().startswith("scam"):
            start = max(0, m.start() - 40)
            window = text[start : m.end()]
            insult = _SCAM_AS_INSULT.search(window)
            if insult and (insult.group("noun") or "").lower() not in _CONTACT_NOUNS:
                continue
        return m.group(0)
    for sentence in _sentences(text):
        if (d := _DISCLOSED.search(sentence)) and _SUSPICIOUS.search(text):
            return d.group(0)
    return None


def bereavement(text: str) -> str | None:
    """The phrase that reports a death, or None."""
    text = plain(text)
    m = _unnegated(_BEREAVEMENT, text)
    return m.group(0) if m is not None else None


def cancellation(text: str, company: str = "") -> str | None:
    """The phrase that says the customer is leaving (a statement or request, not a question), or None."""
    text = plain(text)
    name = re.escape(company.strip()) if company.strip() else r"(?!x)x"
    pattern = re.compile(_LEAVING.pattern.replace("{company}", name), re.IGNORECASE)
    for sentence in _sentences(text):
        m = _unnegated(pattern, sentence)
        if m is None:
            continue
        if _COMMUNICATIONS.search(sentence[max(0, m.start() - 10) : m.end() + 30]):
            continue  # unsubscribing from a newsletter is not leaving
        head = sentence[: m.start()]
        if _QUESTION_START.match(sentence) and not re.search(r"\b(?:can|could|would) you\b", sentence, re.I):
            continue  # "how do I cancel …?", "can I cancel …?": a question for the KB
        if _CONDITIONAL.search(head):
            continue
        if _INTENT.search(sentence) or re.search(r"\b(?:found|got|signed up|going with)\b", m.group(0), re.I):
            return m.group(0)
    return None


@dataclass(frozen=True)
class Category:
    key: str  # also the topic name a tenant's queue may list
    reason: HandoffReason
    description: str  # what it is about, matched against queue descriptions by meaning
    detect: Callable[[str, str], str | None]  # (text, company) -> the phrase that matched, or None
    priority: str = "high"


CATEGORIES: tuple[Category, ...] = (
    Category(
        "legal_threat",
        HandoffReason.sensitive_legal,
        "legal threats, solicitors, court action, complaints to a regulator or ombudsman",
        lambda text, _company: legal_threat(text),
    ),
    Category(
        "fraud",
        HandoffReason.sensitive_fraud,
        "fraud, scams, identity theft, account security and takeover, unauthorised payments",
        lambda text, _company: fraud(text),
    ),
    Category(
        "bereavement",
        HandoffReason.sensitive_bereavement,
        "bereavement: a customer or a relative has died",
        lambda text, _company: bereavement(text),
    ),
    Category(
        "cancellation",
        HandoffReason.cancellation,
        "cancellation: closing the account, cancelling the contract, switching away to another provider, retention",
        cancellation,
        priority="normal",
    ),
)
_BY_KEY = {c.key: c for c in CATEGORIES}


def category_of(topic: SensitiveTopic, company: str = "") -> Category | None:
    """The product category a tenant topic is about: the one that recognises most of its examples
    (at least half), or None. Computed once per (examples, company): it runs every turn for
    every configured topic, and the categories are fixed."""
    return _category_of(tuple(topic.examples), company)


@lru_cache(maxsize=1024)
def _category_of(examples: tuple[str, ...], company: str) -> Category | None:
    best: tuple[int, Category | None] = (0, None)
    for cat in CATEGORIES:
        hits = sum(cat.detect(example, company) is not None for example in examples)
        if hits * 2 >= len(examples) and hits > best[0]:
            best = (hits, cat)
    return best[1]


# -- matches ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SensitiveMatch:
    """A sensitive topic found in the customer's message and what the tenant wants done."""

    key: str  # the product category ("fraud") or the tenant's topic key
    reason: HandoffReason
    policy: str  # handoff | emergency | answer_then_offer_handoff
    detail: str  # for the brief: what matched
    queue: str | None = None  # the tenant's queue for it, when configured
    priority: str = "high"
    skill: str | None = None
    category: Category | None = None
    topic: SensitiveTopic | None = None

    @property
    def description(self) -> str:
        if self.category is not None:
            return self.category.description
        return "; ".join(self.topic.examples) if self.topic is not None else self.key.replace("_", " ")


def _reason(value: str) -> HandoffReason:
    """A tenant's reason as recorded: a product reason or ``sensitive_<slug>``; anything else is
    recorded as ``sensitive_topic`` (the tenant's word stays in the brief's detail)."""
    try:
        return HandoffReason(value)
    except ValueError:
        return HandoffReason.sensitive_topic


def _from_topic(topic: SensitiveTopic, category: Category | None, detail: str) -> SensitiveMatch:
    if topic.reason:
        reason = _reason(topic.reason)
        if reason.value != topic.reason:
            detail = f"{detail}; tenant reason: {topic.reason}"
    else:
        reason = category.reason if category is not None else _reason(topic.handoff_reason)
    return SensitiveMatch(
        key=category.key if category is not None else topic.key,
        reason=reason,
        policy=topic.policy,
        detail=detail,
        queue=topic.queue,
        priority=topic.priority,
        skill=topic.skill,
        category=category,
        topic=topic,
    )


@dataclass
class SensitiveDetector:
    """Finds sensitive topics in one message (see the module docstring for the order)."""

    embedder: Embedder
    similarity: float = 0.62
    _vectors: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict, repr=False)

    def _examples(self, examples: Sequence[str]) -> np.ndarray:
        key = tuple(examples)
        if key not in self._vectors:
            if len(self._vectors) > 256:
                self._vectors.clear()
            self._vectors[key] = self.embedder.embed(list(examples))
        return self._vectors[key]

    def by_meaning(self, text: str, topics: Sequence[SensitiveTopic]) -> tuple[SensitiveTopic, float] | None:
        """The tenant topic whose examples are closest to any sentence of ``text`` (and the
        similarity), when it reaches ``similarity``."""
        if not topics or not text.strip():
            return None
        pieces = _sentences(text)
        if len(pieces) > 1:
            pieces = [text, *pieces]
        vecs = self.embedder.embed(pieces)
        best: tuple[SensitiveTopic, float] | None = None
        for topic in topics:
            sims = vecs @ self._examples(topic.examples).T
            score = float(np.max(sims))
            if score >= self.similarity and (best is None or score > best[1]):
                best = (topic, score)
        return best

    def detect(
        self,
        text: str,
        topics: Sequence[SensitiveTopic] = (),
        *,
        company: str = "",
        cancellation_enabled: bool = True,
    ) -> SensitiveMatch | None:
        """The sensitive topic of ``text``, or None. ``topics``: the tenant's configured topics."""
        emergencies = [t for t in topics if t.policy == "emergency"]
        if (hit := self.by_meaning(text, emergencies)) is not None:
            return _from_topic(hit[0], None, f"{hit[0].key} (similarity {hit[1]:.2f})")
        by_category = {}
        for topic in topics:
            cat = category_of(topic, company)
            if cat is not None and cat.key not in by_category:
                by_category[cat.key] = topic
        for cat in CATEGORIES:
            if cat.key == "cancellation" and not cancellation_enabled:
                continue
            phrase = cat.detect(text, company)
            if phrase is None:
                continue
            detail = f"{cat.key.replace('_', ' ')}: \u201c{phrase.strip()}\u201d"
            if cat.key in by_category:
                return _from_topic(by_category[cat.key], cat, detail)
            return SensitiveMatch(cat.key, cat.reason, "handoff", detail, priority=cat.priority, category=cat)
        others = [t for t in topics if t.policy != "emergency"]
        if (hit := self.by_meaning(text, others)) is not None:
            topic = hit[0]
            return _from_topic(topic, category_of(topic, company), f"{topic.key} (similarity {hit[1]:.2f})")
        return None


def category(key: str) -> Category | None:
    return _BY_KEY.get(key)


__all__ = [
    "CATEGORIES",
    "Category",
    "SensitiveDetector",
    "SensitiveMatch",
    "bereavement",
    "cancellation",
    "category",
    "category_of",
    "fraud",
    "legal_threat",
]
