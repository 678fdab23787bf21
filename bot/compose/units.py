"""Answer units: the pieces an answer is composed of.

A retrieved passage (a chunk of one article section, Markdown) becomes units:

- ``sentence`` — one sentence of a paragraph;
- ``item`` — one bullet item (with the sentence that introduces its list as ``lead``);
- ``list`` — a whole bullet list of up to ``MAX_LIST`` items, with its lead;
- ``step`` / ``steps`` — one numbered step, and the whole numbered list;
- ``row`` — one table row *with its header row* (``cells`` and ``header``);
- ``section`` — a short section whole (at most ``SECTION_CHARS`` characters of prose).

The signed-in customer's own CRM record becomes ``account`` units (``from_account``), cited
as "your account". Text the KB scan quarantined, and any block that contains it, never
becomes a unit; neither does a sentence that reads as an instruction to an assistant.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from bot.compose.quantities import Quantity, quantities
from bot.compose.question import content_stems
from core.types import CustomerFacts, Passage
from knowledge.context import AccountFact, account_facts
from knowledge.scan import QUARANTINE_TEXT, score, signals

__all__ = ["AnswerUnit", "ACCOUNT", "from_passages", "from_account", "clean_markdown", "UNIT_KINDS"]

UNIT_KINDS = ("sentence", "item", "list", "step", "steps", "row", "section", "account")
ACCOUNT = "account"  # the article id of units from the customer's own record
MAX_LIST = 8
SECTION_CHARS = 420

_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPH = re.compile(r"(\*\*|__|`)(.+?)\1")
_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_NUMBERED = re.compile(r"^\s*(\d{1,2})[.)]\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*+•]\s+(.*)$")
_QUOTE = re.compile(r"^\s*>\s?")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(£$€])")


def clean_markdown(text: str) -> str:
    """Links to their text, emphasis markers removed, whitespace collapsed."""
    text = _LINK.sub(r"\1", text)
    text = _EMPH.sub(r"\2", text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class AnswerUnit:
    """One answer unit. ``source`` is the index of the passage it came from (-1: account)."""

    kind: str
    text: str  # what the customer reads (clean text; rows and steps are rendered later)
    source: int
    article_id: str
    title: str
    section: str = ""
    url: str = ""
    version: int = 0
    position: int = 0  # order inside its passage
    lead: str = ""  # the sentence introducing a list (items and lists)
    header: tuple[str, ...] = ()  # rows: the table's header row
    cells: tuple[str, ...] = ()  # rows: this row's cells
    steps: tuple[str, ...] = ()  # steps: the numbered items in order
    block: int = 0  # units of one list or table share a block number
    emphasis: bool = False  # the source set it in bold (an editor's "this matters most")
    _quantities: list[Quantity] | None = field(default=None, repr=False)
    _search_text: str | None = field(default=None, repr=False)
    _search_stems: frozenset[str] | None = field(default=None, repr=False)

    @property
    def search_text(self) -> str:
        """What selection compares with the question: the section heading, then the unit
        (a row with its header: "Membership prices: Plan Flexi; Monthly fee £25 …").
        Computed once per unit (units are not changed after they are made)."""
        if self._search_text is None:
            self._search_text = self._compose_search_text()
        return self._search_text

    @property
    def search_stems(self) -> frozenset[str]:
        """The content stems of ``search_text`` (``content_stems``), computed once per unit."""
        if self._search_stems is None:
            self._search_stems = frozenset(content_stems(self.search_text))
        return self._search_stems

    def _compose_search_text(self) -> str:
        where = self.section if self.section and self.section != self.title else self.title
        if self.kind == "row":
            body = "; ".join(f"{h} {c}".strip() for h, c in zip(self.header, self.cells, strict=False))
        elif self.kind in ("item", "list") and self.lead:
            body = f"{self.lead} {self.text}"
        else:
            body = self.text
        return f"{where}: {body}" if where else body

    @property
    def quantities(self) -> list[Quantity]:
        if self._quantities is None:
            self._quantities = quantities(self.plain)
        return self._quantities

    @property
    def plain(self) -> str:
        """The unit's facts as one line of text (rows: header and cells)."""
        if self.kind == "row":
            return "; ".join(f"{h}: {c}" if h else c for h, c in zip(self.header, self.cells, strict=False))
        if self.kind == "steps":
            return " ".join(self.steps)
        return self.text

    @property
    def is_account(self) -> bool:
        return self.article_id == ACCOUNT


def _suspicious(text: str) -> bool:
    return QUARANTINE_TEXT in text or score(signals(text, addressed=True)) >= 1.0


def _cells(line: str) -> tuple[str, ...]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return tuple(clean_markdown(c) for c in inner.split("|"))


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """(kind, lines) blocks: table, numbered, bullets, quote, para."""
    blocks: list[tuple[str, list[str]]] = []

    def kind_of(line: str) -> str:
        if _TABLE_LINE.match(line):
            return "table"
        if _NUMBERED.match(line):
            return "numbered"
        if _BULLET.match(line):
            return "bullets"
        if _QUOTE.match(line):
            return "quote"
        return "para"

    for raw in text.splitlines():
        if not raw.strip():
            blocks.append(("blank", []))
            continue
        k = kind_of(raw)
        prev = blocks[-1] if blocks else None
        continuation = (
            prev is not None
            and prev[0] in ("numbered", "bullets")
            and k == "para"
            and raw.startswith((" ", "\t"))
        )
        if prev is not None and (prev[0] == k or continuation) and k != "blank":
            if continuation:
                prev[1][-1] = prev[1][-1] + " " + raw.strip()
            elif k == "para":
                prev[1].append(raw)
            else:
                prev[1].append(raw)
        else:
            blocks.append((k, [raw]))
    return [b for b in blocks if b[0] != "blank"]


def split_prose(text: str) -> list[str]:
    """Sentences of a prose paragraph (clean text)."""
    return [s.strip() for s in _SENT.split(clean_markdown(text)) if len(s.strip()) >= 3]


def _bold(text: str) -> set[str]:
    """The sentences of a paragraph that are set in bold as a whole."""
    out: set[str] = set()
    for m in re.finditer(r"(\*\*|__)(.+?)\1", text):
        for s in split_prose(m.group(2)):
            if len(s) >= 20:
                out.add(s)
    return out


def from_passages(passages: Sequence[Passage]) -> list[AnswerUnit]:
    """Every unit of every passage, in passage then reading order.

    A passage's units depend on that passage alone, so each is split once per process
    (``_split``: an LRU of ``SPLIT_CACHE`` passages, keyed by everything the split reads; an
    edited article is new text, hence a new entry) and every call gets its own copies,
    numbered for their place in this list (``source``, ``position``, ``block``)."""
    units: list[AnswerUnit] = []
    blocks_before = 0
    for n, p in enumerate(passages):
        split, n_blocks = _split(p.article_id, p.title, p.section, p.url, p.version, p.text)
        offset = len(units)
        units.extend(_placed(u, n, u.position + offset, u.block + blocks_before) for u in split)
        blocks_before += n_blocks
    return units


SPLIT_CACHE = 4096  # passages (a few kB each with their units)


def _placed(template: AnswerUnit, source: int, position: int, block: int) -> AnswerUnit:
    unit = copy.copy(template)
    unit.source, unit.position, unit.block = source, position, block
    return unit


@lru_cache(maxsize=SPLIT_CACHE)
def _split(
    article_id: str, title: str, section: str, url: str, version: int, passage_text: str
) -> tuple[tuple[AnswerUnit, ...], int]:
    """The units of one passage (source 0, positions and blocks counted from its start) and
    how many blocks it has. Their quantities are read here, once."""
    units: list[AnswerUnit] = []
    block_id = 0

    def unit(kind: str, text: str, **extra: object) -> AnswerUnit:
        return AnswerUnit(
            kind=kind,
            text=text,
            source=0,
            article_id=article_id,
            title=title,
            section=section,
            url=url,
            version=version,
            position=len(units),
            block=block_id,
            **extra,  # type: ignore[arg-type]
        )

    blocks = _blocks(passage_text)
    prose_chars = 0
    prose: list[str] = []
    lead = ""
    for kind, lines in blocks:
        block_id += 1
        body = "\n".join(lines)
        if _suspicious(body):
            lead = ""
            continue
        if kind == "table":
            rows = [ln for ln in lines if not _TABLE_RULE.match(ln)]
            has_rule = any(_TABLE_RULE.match(ln) for ln in lines[1:2])
            header = _cells(rows[0]) if has_rule and rows else ()
            for line in rows[1:] if header else rows:
                cells = _cells(line)
                if any(cells):
                    units.append(unit("row", " | ".join(cells), header=header, cells=cells, lead=lead))

            lead = ""
        elif kind == "numbered":
            steps = tuple(clean_markdown(_NUMBERED.sub(r"\2", ln)) for ln in lines)
            for s in steps:
                units.append(unit("step", s, lead=lead))
            units.append(unit("steps", " ".join(steps), steps=steps, lead=lead))
            lead = ""
        elif kind == "bullets":
            items = [clean_markdown(_BULLET.sub(r"\1", ln)).rstrip(";, ") for ln in lines]
            for it in items:
                units.append(unit("item", it, lead=lead))
            if 2 <= len(items) <= MAX_LIST:
                units.append(unit("list", "; ".join(i.rstrip(".;") for i in items), steps=tuple(items), lead=lead))
            lead = ""
        else:
            text = " ".join(_QUOTE.sub("", ln).strip() for ln in lines)
            sentences = split_prose(text)
            lead = sentences[-1] if sentences and sentences[-1].endswith(":") else ""
            if lead:
                sentences = sentences[:-1]  # "You'll need:" introduces the list that follows
            bold = _bold(text)
            for s in sentences:
                units.append(unit("sentence", s, emphasis=s in bold))
            prose.extend(sentences)
            prose_chars += len(text)
    if 2 <= len(prose) and prose_chars <= SECTION_CHARS and all(k in ("para", "quote") for k, _ in blocks):
        units.append(unit("section", " ".join(prose)))
    for u in units:  # computed once for every turn that retrieves this passage (copies share them)
        _ = u.quantities, u.search_stems
    return tuple(units), block_id


# -- the customer's own record ------------------------------------------------------------

Formatter = Callable[[AccountFact], str]


def from_account(
    facts: CustomerFacts | None, fmt: Formatter, *, first_source: int
) -> list[AnswerUnit]:
    """One unit per group of the customer's record (a plan, a device's last reading, the
    payment details, an order, a ticket's status), cited as "your account".

    ``fmt`` renders one fact's value (currency, dates) for the tenant. A customer asks several
    questions of one record: its units are rendered once per record content and formatter
    (``_account_units``: an LRU of ``ACCOUNT_CACHE`` records keyed by the record's JSON, so a
    changed record is new units) and every call gets its own copies, numbered from
    ``first_source``."""
    if facts is None:
        return []
    try:
        record = _Record(fmt, facts)
    except (TypeError, ValueError):  # an unhashable formatter, a text JSON cannot hold: render it here
        template = _render_account(facts, fmt)
    else:
        template = _account_units(record)
    return [_placed(u, first_source, u.position, u.block) for u in template]


ACCOUNT_CACHE = 1024  # customer records (a few kB each with their units)


class _Record:
    """A customer record and its formatter as a cache key, rendered from the record itself
    (not re-read from its JSON, which changes what the rendering reads: NaN and infinities
    become null, an order total then fails validation). Equal by the formatter and the record's
    JSON, and by the values JSON writes as null alike (attributes and order totals, compared
    as values: a record holding NaN is never found again and is rendered on each call).
    Raises ``TypeError`` for an unhashable formatter, ``ValueError`` for a record JSON cannot
    hold (a lone surrogate in a text, as a JSON column may return)."""

    __slots__ = ("fmt", "facts", "json", "_hash")

    def __init__(self, fmt: Formatter, facts: CustomerFacts) -> None:
        self.fmt, self.facts, self.json = fmt, facts, facts.model_dump_json()
        self._hash = hash((fmt, self.json))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Record)
            and self.json == other.json
            and self.fmt == other.fmt
            and self.facts.attributes == other.facts.attributes
            and [o.total for o in self.facts.orders] == [o.total for o in other.facts.orders]
        )


@lru_cache(maxsize=ACCOUNT_CACHE)
def _account_units(record: _Record) -> tuple[AnswerUnit, ...]:
    units = _render_account(record.facts, record.fmt)
    for u in units:  # computed once for every turn that reads this record (copies share them)
        _ = u.quantities, u.search_stems
    return units


def _render_account(facts: CustomerFacts, fmt: Formatter) -> tuple[AnswerUnit, ...]:
    """The account units of ``facts`` (source 0)."""
    units: list[AnswerUnit] = []
    groups: dict[tuple[str, ...], list[tuple[str, AccountFact]]] = {}
    for fact in account_facts(facts):
        # A nested group (a device's last reading, a balance's breakdown, a plan's exit fee)
        # joins its nearest top-level ancestor, its labels prefixed with the way down.
        home = next((fact.group[:n] for n in range(1, len(fact.group)) if fact.group[:n] in groups), fact.group)
        prefix = " › ".join(fact.group[len(home) :])
        label = f"{prefix} › {fact.label}" if prefix and fact.label else (prefix or fact.label)
        groups.setdefault(home, []).append((label, fact))
    for i, (group, items) in enumerate(groups.items()):
        label = " › ".join(group) if group else "your account"
        values = [fmt(f) for _, f in items]
        parts = [f"{lab}: {value}" if lab else value for (lab, _), value in zip(items, values, strict=True)]
        units.append(
            AnswerUnit(
                kind="account",
                text="; ".join(parts),
                source=0,
                article_id=ACCOUNT,
                title="Your account",
                section=label,
                position=i,
                block=-(i + 1),
                header=tuple(lab for lab, _ in items),
                cells=tuple(values),
            )
        )
    return tuple(units)


def iso_date(value: object) -> date | None:
    """A date from an ISO date or datetime string, else None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][\d:.+\-Z]+)?", value.strip()):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
        except ValueError:
            return None
    return None
