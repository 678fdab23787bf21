"""The answer composer: answers built from answer units, not from one fixed passage length.

``Composer.select`` turns the retrieved passages (and the signed-in customer's own record)
into units (``units``), splits the question into its parts and types them
(``question``), and scores every unit for every part (``select``). ``Composer.compose``
renders what answers each part (``render``), adds worked dates and sums (``dates``),
and says which parts the help center does not answer. ``verify`` is the strict check an
instruction-following model's phrasing must pass before it replaces the composed text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from bot.compose.dates import anchors, deadline, sums
from bot.compose.question import Part, Question, analyse, content_stems
from bot.compose.render import ValueFormatter, format_date, render, unit_line
from bot.compose.select import CachedEmbedder, PartChoice, Selection, select
from bot.compose.units import ACCOUNT, AnswerUnit, from_account, from_passages
from bot.compose.verify import Verdict, verify
from bot.tenant import TenantPolicy
from core.models.embed import Embedder
from core.types import Citation, CustomerFacts, Passage

__all__ = [
    "ACCOUNT",
    "AnswerUnit",
    "Composer",
    "Composition",
    "ComposeSettings",
    "Part",
    "PartChoice",
    "Question",
    "Selection",
    "Verdict",
    "verify",
]


@dataclass(frozen=True)
class ComposeSettings:
    """The tenant's side of composing: its today (in its timezone), its currency (ISO 4217)
    and locale for amounts, and its closed dates (working-day arithmetic)."""

    today: date
    currency: str = "USD"
    locale: str = "en"
    closed: frozenset[date] = frozenset()
    answer_threshold: float | None = None  # the tenant's abstain threshold (None: the fitted default)
    company: str = ""  # the tenant's name: a customer's "from <company>" says nothing about which unit answers

    @classmethod
    def for_tenant(cls, policy: TenantPolicy, now: datetime, language: str = "en") -> ComposeSettings:
        """From the tenant's policy: today in its timezone, its currency, closed dates and
        abstain threshold (``answer_threshold`` in its configuration)."""
        config = policy.config
        return cls(
            today=policy.hours.local(now).date(),
            currency=policy.currency or (config.currency if config else "") or "USD",
            locale=language or "en",
            closed=policy.hours.closed_dates,
            answer_threshold=getattr(config, "answer_threshold", None) if config is not None else None,
            company=config.name if config is not None else "",
        )

    @property
    def formatter(self) -> ValueFormatter:
        return ValueFormatter(self.currency or "USD", self.locale)


@dataclass
class Composition:
    """A composed reply. ``sources`` maps each citation number to the text of the units it
    stands for (and the worked lines computed from them): what a draft may state."""

    text: str
    citations: list[Citation]
    selection: Selection
    chosen: list[tuple[AnswerUnit, Part]] = field(default_factory=list)
    unknown: list[Part] = field(default_factory=list)
    sources: dict[int, str] = field(default_factory=dict)


UNKNOWN_PART = "I couldn't find anything in our help center about {what}."


def _rate_unit(pc: PartChoice, question: str) -> AnswerUnit | None:
    """For "how much would N things cost?": a unit near the top of the ranking, of an article
    already chosen, whose rate the sum needs when the chosen units have none (the table row
    with "£6 per line for each month" next to a worked example for another count)."""
    if "amount" not in pc.part.wants or not pc.chosen:
        return None

    def probe(u: AnswerUnit) -> bool:
        return sums(question, u.plain, str, 100) is not None

    if any(probe(s.unit) for s in pc.chosen):
        return None
    articles = {s.unit.article_id for s in pc.chosen}
    for s in pc.ranked[:8]:
        if s.unit.article_id in articles and not s.unit.is_account and probe(s.unit):
            return s.unit
    return None


_NAME_WORD = re.compile(r"[^\W\d_][\w'’-]*")  # a word of the name, letters beyond ASCII included
_OPENER = frozenset(".!?:;|•\n")  # what a sentence, a table cell or a list item starts after
_QUOTES = frozenset(" \t\"'“‘([*")
# A word of the units' text, not part of an address ("help.acme.example", "@acme", "acme.com/help")
_TEXT_WORD = re.compile(r"[^\W\d_][\w'’-]*(?![\w@/-]|\.\w)")
_INSIDE = frozenset("._@/-")  # a word after one of these is part of an address or of another word


def brand_stems(company: str, units: Sequence[AnswerUnit]) -> frozenset[str]:
    """The stems of the words of the company's name that are a name, not a word of the trade:
    a word of ``company`` the units write capitalised inside a sentence ("… at Acme
    we …") and never in lower case in any form sharing its stem ("energy", "bank" in "Acme
    Energy", "Acme Bank"; "save" for "Savings"). A capital opening a sentence, a table cell
    or a list item says nothing ("Home insurance covers …"), nor does a word the units never
    write: neither is left out. Web and e-mail addresses don't count ("help.acme.example").
    Every article is about the company, so its name in a question ("an email from Acme")
    says nothing about which unit answers. Empty for no name.

    Each unit's text is read once per name (``_name_use``, an LRU: units recur every turn):
    ~0.1 ms for 150 units already seen, 0.3-0.6 ms for 150 new ones (18 kB of text)."""
    stems: set[str] = set()
    prefixes: set[str] = set()
    for word in _NAME_WORD.findall(company):
        low = word.lower()
        for s in content_stems(word):
            stems.add(s)
            n = next((i for i, (a, b) in enumerate(zip(low, s, strict=False)) if a != b), min(len(low), len(s)))
            prefixes.add(low[: max(n, 1)])
    if not stems:
        return frozenset()
    name, starts = frozenset(stems), tuple(sorted(prefixes))
    lower: set[str] = set()
    named: set[str] = set()
    for u in units:
        lo, na = _name_use(u.text, name, starts)
        lower |= lo
        named |= na
    return frozenset(named - lower)


@lru_cache(maxsize=16384)
def _name_use(text: str, stems: frozenset[str], prefixes: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """(the ``stems`` ``text`` writes in lower case, those it writes capitalised inside a
    sentence), for words starting with one of ``prefixes`` (lower case)."""
    folded = text.lower()
    if len(folded) != len(text):  # a letter whose lower case is longer ("İ"): positions differ
        folded = "".join(c.lower()[:1] for c in text)
    lower: set[str] = set()
    named: set[str] = set()
    for prefix in prefixes:
        at = folded.find(prefix)
        while at >= 0:
            m = _TEXT_WORD.match(text, at)
            at = folded.find(prefix, at + 1)
            if m is None or (m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in _INSIDE)):
                continue
            hit = stems.intersection(content_stems(m.group()))
            if not hit:
                continue
            if m.group()[0].islower():
                lower |= hit
                continue
            j = m.start() - 1
            while j >= 0 and text[j] in _QUOTES:
                j -= 1
            if j >= 0 and text[j] not in _OPENER:
                named |= hit
    return frozenset(lower), frozenset(named)


def _asks(text: str) -> bool:
    """A question (not a statement such as "When I switched last month, I had a meter.")."""
    return "?" in text or (not text.rstrip().endswith(".") and any(p.wants for p in analyse(text).parts))


class Composer:
    def __init__(self, embedder: Embedder) -> None:
        self.embedder = CachedEmbedder(embedder)

    def select(
        self,
        question: str,
        passages: Sequence[Passage],
        *,
        query: str = "",
        customer: CustomerFacts | None = None,
        settings: ComposeSettings,
        said_before: Sequence[str] = (),
        customer_said: Sequence[str] = (),
        vocabulary: Callable[[Sequence[str]], Mapping[str, int]] | None = None,
    ) -> Selection:
        """Units from ``passages`` (and the customer's own record) scored for each part of
        ``question``; ``query`` is the conversation-aware rewrite; ``vocabulary(stems)``: how
        many KB chunks of the tenant hold each stem (``ContextBuilder.document_frequencies``)."""
        units = from_passages(passages)
        units += from_account(customer, settings.formatter, first_source=len(passages))
        q = analyse(question, query, signed_in=customer is not None)
        if customer_said and not _asks(customer_said[-1]):
            # The earlier reply answered a statement ("I'm moving out on 27 March."): saying it
            # again to the question that follows is no repeat.
            said_before = ()
        selection = select(
            q,
            units,
            self.embedder,
            said_before=said_before,
            tried=customer_said,
            ignore=brand_stems(settings.company, units),
        )
        if vocabulary is not None:
            stems = sorted({s for p in q.parts for s in content_stems(p.text)})
            selection.vocabulary = dict(vocabulary(stems))
        return selection

    def compose(
        self,
        selection: Selection,
        settings: ComposeSettings,
        *,
        answer: Sequence[bool] | None = None,
        customer_said: Sequence[str] = (),
    ) -> Composition:
        """Render the chosen units of the parts to ``answer`` (default: every part with a
        choice); the other parts are named as not found."""
        fmt = settings.formatter
        flags = list(answer) if answer is not None else [bool(pc.chosen) for pc in selection.parts]
        answered_units = {id(s.unit) for pc, ok in zip(selection.parts, flags, strict=True) if ok for s in pc.chosen}
        chosen: list[tuple[AnswerUnit, Part]] = []
        unknown: list[Part] = []
        for pc, ok in zip(selection.parts, flags, strict=True):
            # A part whose best unit answers another part too is answered by it ("when does
            # my plan end, and what is the fee?" — both are in the plan's record).
            if pc.chosen and (ok or id(pc.chosen[0].unit) in answered_units):
                chosen.extend((s.unit, pc.part) for s in pc.chosen)
                rate = _rate_unit(pc, selection.question.text)
                if rate is not None and all(rate is not u for u, _ in chosen):
                    chosen.append((rate, pc.part))
            else:
                unknown.append(pc.part)
        extra: dict[int, list[str]] = {}
        dated = anchors([*customer_said, selection.question.text], settings.today)
        for unit, part in chosen:
            if unit.article_id == ACCOUNT:
                continue
            lines: list[str] = []
            if part.wants & {"date", "duration"} and dated:
                worked = deadline(unit.plain, dated, settings.closed, format_date)
                if worked:
                    lines.append(worked)
            if "amount" in part.wants:
                worked = sums(part.text if part.quantities else selection.question.text, unit.plain,
                              fmt.money, fmt.minor_units())
                if worked:
                    lines.append(worked)
            if lines:
                extra[id(unit)] = lines
        if not chosen:
            return Composition("", [], selection, [], unknown, {})
        rendered = render([(u, p) for u, p in chosen], extra)
        text = rendered.text
        if unknown and len(selection.parts) > 1:
            what = "; ".join(p.text.rstrip("?. ") for p in unknown)
            text = f"{text} {UNKNOWN_PART.format(what=f'“{what}”')}"
        sources: dict[int, str] = {}
        done: set[int] = set()
        for unit, _ in chosen:
            n = rendered.numbers.get(id(unit))
            if n is None or id(unit) in done:
                continue
            done.add(id(unit))
            body = "\n".join([unit_line(unit, [p for u, p in chosen if u is unit]), *extra.get(id(unit), [])])
            sources[n] = f"{sources[n]}\n{body}" if n in sources else body
        return Composition(text, rendered.citations, selection, chosen, unknown, sources)
