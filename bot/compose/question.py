"""What a question asks for, and its parts.

``analyse`` splits a customer message into its questions ("How much is it, and do I have
to pay it back?" is two) and types each part by what it asks for:

- ``amount`` (how much / what does it cost / what's the rate / fee / charge),
- ``duration`` (how long / how soon / how much notice / at what point / how many days),
- ``date`` (when / what date / which day / by when / deadline),
- ``time`` (what time / which hours / opening hours),
- ``phone`` (what number / who do I call / how do I contact),
- ``steps`` (how do I / what should I do / how can I),
- ``yesno`` (do/does/can/is/will … at the start),
- ``who``, ``count`` (how many), ``reason`` (why), ``condition`` (what happens if / when …).

The patterns are ordinary English question forms; no company's vocabulary."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import Stemmer

from bot.compose.quantities import Quantity, quantities

__all__ = ["Part", "Question", "analyse", "WANT_KINDS", "content_stems", "stem"]

# What each wanted type accepts as evidence in a unit (quantity kinds).
WANT_KINDS: dict[str, frozenset[str]] = {
    "amount": frozenset({"money", "percent"}),
    "duration": frozenset({"duration"}),
    "date": frozenset({"date", "duration", "time"}),
    "time": frozenset({"time"}),
    "phone": frozenset({"phone"}),
    "count": frozenset({"number", "duration", "money"}),
}

_I = re.IGNORECASE
_AMOUNT = re.compile(
    r"\bhow much\b(?!\s+(?:notice|time|longer|warning)\b)|\bwhat (?:does|do|would|will) (?:it|that|this|they|\w+) cost"
    r"|\b(?:cost|costs|price|prices|fee|fees|owe|owed|worth|compensation|discount|interest)\b",
    _I,
)
# Words that ask for an amount only when nothing else is asked ("what hours does the cheap rate apply").
_AMOUNT_WEAK = re.compile(r"\b(?:charge|charges|rate|rates|pay|paid|payment|instalment|balance)\b", _I)
_DURATION = re.compile(
    r"\bhow (?:long|soon|quickly|fast|much (?:notice|time|longer|warning))\b|\bat what point\b"
    r"|\bhow many (?:days|weeks|months|hours|minutes|years|working days|business days)\b|\bwithin\b.*\?$",
    _I,
)
_DATE = re.compile(
    r"^\s*when\b|\b(?:and|but|so) when\b|,\s*when\b|\bwhat (?:date|day)\b|\bwhich (?:date|day)\b|\bby when\b"
    r"|\bdeadline\b|\bwhen (?:is|are|was|will|would|does|do|did|should|can|could|must)\b|\bexpect\b",
    _I,
)
_TIME = re.compile(
    r"\bwhat time\b|\b(?:which|what) hours\b|\bopening (?:hours|times)\b|\bwhen (?:are|is) (?:you|it|the \w+) open\b"
    r"|\bhours (?:does|do|is|are)\b|\bwhat times\b",
    _I,
)
_PHONE = re.compile(
    r"\b(?:phone|telephone)\b|\bwhat(?:'s| is) the number (?:to|for)\b"
    r"|\bwhich number (?:do|should|can) I (?:call|ring|dial)\b|\bwho (?:do|should|can) I (?:call|ring|phone)\b"
    r"|\bhow (?:do|can) I (?:contact|reach|call|ring)\b|\bnumber (?:to|for) (?:call|ring)\b",
    _I,
)
_STEPS = re.compile(
    r"\bhow (?:do|can|should|would) (?:I|we|you)\b(?! (?:know|tell)\b)|\bwhat (?:do|should|can) (?:I|we) do\b"
    r"|\bhow to\b"
    r"|\bwhat are the steps\b|\bsteps?\b|\bwhat now\b",
    _I,
)
_YESNO = re.compile(
    r"(?:^|[,;]\s*)\s*(?:and |but |so |also |then )?(?:do|does|did|can|could|is|are|was|were|will|would|should|"
    r"shall|am|have|has|had|may|might|must|isn't|aren't|don't|doesn't|can't|won't)\b",
    _I,
)
_WHO = re.compile(r"\bwho\b", _I)
_COUNT = re.compile(r"\bhow many\b(?! (?:days|weeks|months|hours|minutes|years|working|business)\b)", _I)
_REASON = re.compile(
    r"\bwhy\b|\bwhat (?:does|do) (?:\w+ ){0,3}mean\b|\bwhat(?: is|'s|’s| are) (?:\w+ ){0,2}made up of\b"
    r"|\bbreak(?:down| it down)\b",
    _I,
)
_CONDITION = re.compile(r"\bwhat happens (?:if|when)\b|\bin what case|\bunder what\b", _I)
_NEGATED_TIME = re.compile(r"\b(?:any time|anytime|in time|this time|at the moment|right now|at present)\b", _I)

# Part boundaries: a question mark, or ", and"/"and" before a new question word.
_QWORDS = (
    r"(?:how|what|what's|when|where|which|who|why|do|does|did|can|could|is|are|will|would|should|am|have|has|"
    r"must|may)"
)
_SPLIT = re.compile(
    rf"\?\s*|[,;]\s*(?:and|but|also|plus)\s+(?={_QWORDS}\b)"
    rf"|\s+and\s+(?={_QWORDS}\s+(?:I|i|it|you|we|my|the|they|much|long|many|soon|do|does)\b)",
    _I,
)

_STEMMER = Stemmer.Stemmer("english")
_WORD = re.compile(r"[A-Za-z0-9£$€][A-Za-z0-9'’.,£$€%-]*")
_STOP = frozenset(
    """a an the and or but if then so than that this these those there here it its it's i i'm i've i'd me my mine
    we our us you your yours he she him her his they them their what what's which who whom whose when where why how
    is are was were be been being am do does did doing done have has had having can could will would shall should
    may might must to of in on at by for from with without about into onto over under up down out off as not no
    yes please thanks thank hi hello just also any some all each every much many more most other another same such
    very really get got getting go going want wants need needs like know let tell give say said one ones thing
    things anything something way ok okay now still already ever even only too well""".split()
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem, via PyStemmer: "changing" and "change" meet."""
    return str(_STEMMER.stemWord(word.lower().strip(".,'’")))


def content_stems(text: str) -> list[str]:
    """Stems of the content words of ``text``, in order, without repeats. A curly apostrophe
    (phones and word processors: "can’t", "Acme’s") reads as a straight one."""
    return list(_content_stems(text))


@lru_cache(maxsize=65536)
def _content_stems(text: str) -> tuple[str, ...]:
    """``content_stems`` computed once per text (KB units are read again every turn)."""
    out: list[str] = []
    for w in _WORD.findall(text.replace("’", "'")):
        lw = w.lower().strip(".,'-")
        if not lw or lw in _STOP or len(lw) < 2 and not lw.isdigit():
            continue
        s = stem(lw)
        if s not in out:
            out.append(s)
    return tuple(out)


@dataclass
class Part:
    """One question of a customer message."""

    text: str
    wants: set[str] = field(default_factory=set)
    quantities: list[Quantity] = field(default_factory=list)

    @property
    def typed(self) -> bool:
        """Asks for a figure (amount, duration, date, time, phone, count)."""
        return bool(self.wants & set(WANT_KINDS))

    @property
    def focus(self) -> str:
        """The question itself, without the statement before it ("My meter is silent. When
        do you send an engineer?" → "When do you send an engineer?")."""
        sentences = [s for s in re.split(r"(?<=[.!])\s+", self.text.strip()) if s.strip()]
        return sentences[-1] if sentences else self.text


@dataclass
class Question:
    text: str  # the customer's last message
    parts: list[Part]
    context: str = ""  # the conversation-aware rewrite (earlier turns' words borrowed)
    personal: bool = False  # about the customer's own account ("my", "I owe", "am I")

    @property
    def wants(self) -> set[str]:
        return set().union(*(p.wants for p in self.parts)) if self.parts else set()


_PERSONAL = re.compile(r"\b(?:my|mine|am I|I owe|do I owe|have I|I'm on|I am on|me)\b", _I)


def wants_of(text: str) -> set[str]:
    """What one question asks for (see the module docstring)."""
    t = text.strip()
    wants: set[str] = set()
    if _DURATION.search(t):
        wants.add("duration")
    if _AMOUNT.search(t) and "duration" not in wants:
        wants.add("amount")
    if _TIME.search(t):
        wants.add("time")
    elif _DATE.search(t) and not _NEGATED_TIME.search(t) and "duration" not in wants:
        wants.add("date")
    if _PHONE.search(t):
        wants.add("phone")
    if _STEPS.search(t) and not wants & {"amount", "duration"}:
        wants.add("steps")
    if _AMOUNT_WEAK.search(t) and not wants & {"duration", "time", "date", "steps", "phone"}:
        wants.add("amount")
    if _YESNO.search(t):
        wants.add("yesno")
    if _WHO.search(t):
        wants.add("who")
    if _COUNT.search(t):
        wants.add("count")
    if _REASON.search(t):
        wants.add("reason")
    if _CONDITION.search(t):
        wants.add("condition")
    return wants


def _parts(text: str) -> list[str]:
    """The questions of a message; a statement before a question stays with it (context)."""
    pieces = [p.strip(" ,;") for p in _SPLIT.split(text) if p and p.strip(" ,;?")]
    merged: list[str] = []
    for piece in pieces:
        if merged and not wants_of(piece) and (len(content_stems(piece)) <= 1 or piece.rstrip().endswith(".")):
            merged[-1] = f"{merged[-1]}. {piece}" if not merged[-1].endswith(".") else f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged or [text.strip()]


def analyse(text: str, context: str = "", *, signed_in: bool = False) -> Question:
    """The parts of ``text`` and what each asks for; ``context`` is the rewritten query."""
    parts = [Part(p, wants_of(p), quantities(p)) for p in _parts(text)]
    if len(parts) > 1:
        # A part that asks nothing typed and names nothing ("and is that right") joins the previous.
        kept: list[Part] = []
        for p in parts:
            if kept and not p.wants and len(content_stems(p.text)) <= 1:
                kept[-1] = Part(f"{kept[-1].text} {p.text}", kept[-1].wants, kept[-1].quantities + p.quantities)
            else:
                kept.append(p)
        parts = kept
    personal = signed_in and bool(_PERSONAL.search(text))
    return Question(text=text, parts=parts, context=context or text, personal=personal)
