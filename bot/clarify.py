"""Underspecified questions: ask one clarifying question when the content splits, not the words.

The bot asks only when a short, generic first question meets help-centre content that answers
it in more than one way. Two kinds of split, both read from the retrieved passages:

- **rows**: the best passage is a table whose answer depends on its first column (a price per
  tariff, what to send per meter type, how to change each kind of payment) and neither the
  question, the conversation nor the customer's own record names a row. The question names the
  rows: "Which tariff do you mean: Flex, Fixed 12, …?"
- **readings**: the two best-matching passages come from different articles (or different
  sections of one article) that answer different things, they match the question about equally
  well (cosine similarity within ``margin``), and the question uses no word that belongs to one
  of them only. The question names both: "Is your question about “Smart meter not sending
  readings” or “Prepayment meters”?"

Never: after the conversation has started (the history resolves it), for a question with
specifics (numbers, names, a row key), because of a person the customer mentions ("my wife",
"he moved out"), or twice in a row (the policy answers the next turn). ``chosen_query`` turns
the customer's reply into the query for the reading they chose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import Stemmer

from core.types import CustomerFacts, Passage

if TYPE_CHECKING:
    from core.models.embed import Embedder

# Words that say nothing about which reading is meant.
_GENERIC = frozenset(
    "need want get got give tell know sure help like please would could should just really also thing things "
    "something anything about much many mean means meaning work working properly right wrong do did does done "
    "i'm i've i'd me my mine us our you your it it's that's there what's how's one ones way ways out up back "
    # when, not what: "at the end of the month", "soon", "last week"
    "today tomorrow yesterday soon now later time day days week weeks month months year years end "
    "morning evening night weekend next last ago recently someone somebody someone's anyone".split()
)
_STOP = frozenset(
    "a an and are as at be but by can do does for from has have how i if in into is it its of on or so that the "
    "their then this to was we what when where which who will with am were been being any all not no per "
    "isn aren wasn don doesn didn won can't cannot".split()
)
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_MULTI_PART = re.compile(
    r"\?.*\?|[,;]\s*(?:and |or |but |also )?(?:how|what|when|where|which|who|why|is|are|do|does|can|could|will|would)\b"
    r"|\band (?:how|what|when|where|which|who|why)\b",
    re.IGNORECASE | re.DOTALL,
)
_SPECIFIC = re.compile(r"\d|[£$€¥₹]|\"[^\"]+\"|“[^”]+”")
_TABLE_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}")
_MARKUP = re.compile(r"\*\*|__|`|\[([^\]]+)\]\([^)]*\)")
# The question does not say whose situation it is ("someone's moving out").
_UNSPECIFIED_WHO = re.compile(r"\b(?:someone|somebody|a person)(?!\s+else)\b", re.IGNORECASE)
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "last": -1, "former": 0, "latter": -1}


@dataclass(frozen=True)
class Clarification:
    kind: str  # rows | readings
    subject: str  # rows: the dimension ("tariff"); readings: ""
    options: tuple[str, ...] = ()  # rows: the row keys; readings: the readings' labels
    readings: tuple[str, ...] = ()  # rows: sections the rows come from, when two tables split further


@dataclass(frozen=True)
class _Table:
    dimension: str
    keys: tuple[str, ...]
    values: tuple[str, ...]  # the rest of each row, to tell whether the answer differs by row
    columns: str = ""  # the other headers ("Unit rate | Standing charge")


def _clean(cell: str) -> str:
    return _MARKUP.sub(lambda m: m.group(1) or "", cell).strip()


def tables(text: str) -> list[_Table]:
    """The Markdown tables of a passage (header, separator, rows)."""
    found: list[_Table] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines) - 2:
        head = _TABLE_ROW.match(lines[i])
        if head and _SEPARATOR.match(lines[i + 1]):
            header = [_clean(c) for c in head.group(1).split("|")]
            rows: list[list[str]] = []
            j = i + 2
            while j < len(lines) and (m := _TABLE_ROW.match(lines[j])):
                rows.append([_clean(c) for c in m.group(1).split("|")])
                j += 1
            if len(header) >= 2 and rows:
                found.append(
                    _Table(
                        header[0],
                        tuple(r[0] for r in rows),
                        tuple(" | ".join(r[1:]) for r in rows),
                        " | ".join(header[1:]),
                    )
                )
            i = j
        else:
            i += 1
    return found


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def _stems(text: str) -> set[str]:
    """The question's topic words, stemmed (Snowball): no stop words, no generic verbs, no time
    expressions, no contractions."""
    words = [w.strip("'") for w in _TOKEN.findall(text.lower().replace("\u2019", "'"))]
    words = [re.sub(r"'(?:s|t|m|re|ve|ll|d)$", "", w) for w in words]
    keep = [w for w in words if len(w) > 1 and w not in _STOP and w not in _GENERIC]
    return set(_stemmer().stemWords(keep))


def _distinctive(keys: tuple[str, ...]) -> list[set[str]]:
    """Each key's words minus the words every key shares ("Acme Flex" → {"flex"})."""
    sets = [_stems(k) for k in keys]
    common = set.intersection(*sets) if sets else set()
    return [s - common for s in sets]


def _named_proper(question: str, company: str) -> bool:
    """A capitalised word that is not the sentence's first word, "I" or the company's name."""
    skip = {w.lower() for w in re.findall(r"[A-Za-z]+", company)} | {"i", "i'm", "i've", "i'd", "i'll"}
    for sentence in re.split(r"(?<=[.!?])\s+", question.strip()):
        words = re.findall(r"[A-Za-z][A-Za-z'’-]*", sentence)
        for w in words[1:]:
            if w[0].isupper() and w.lower() not in skip:
                return True
    return False


def _section_label(p: Passage) -> str:
    return (p.section or p.title).split(" > ")[0].strip() or p.title


def _row_split(question: str, passages: list[Passage], known: str) -> tuple[_Table, tuple[str, ...]] | None:
    """A table among the best two passages whose answer depends on a row nobody named."""
    q = _stems(question)
    values = [_stems(v) for v in known.splitlines() if v.strip()]
    candidates: list[tuple[Passage, _Table]] = []
    for p in passages[:2]:
        for table in tables(p.text):
            if not 2 <= len(table.keys) <= 8 or len(set(table.values)) < 2:
                continue
            if not q & _stems(f"{table.dimension} {table.columns}"):
                continue  # the table is not about what was asked (its headers say what it answers)
            if max(len(k.split()) for k in table.keys) > 8:
                continue  # sentences, not row names
            if len(table.dimension.split()) <= 3 and _stems(table.dimension) & q:
                return None  # "what tariffs do you have?" asks for the rows themselves
            distinct = _distinctive(table.keys)
            if not all(distinct):
                continue  # a row only the shared words describe: not a clean split
            if any(d <= v for d in distinct for v in values if v):
                return None  # one value of the customer's own record names a row
            overlaps = sorted((len(d & q) for d in distinct), reverse=True)
            if overlaps[0] > 0 and (len(overlaps) == 1 or overlaps[0] > overlaps[1]):
                return None  # the question names one row
            candidates.append((p, table))
    if not candidates:
        return None
    first_passage, table = candidates[0]
    sections = tuple(
        dict.fromkeys(_section_label(p) for p, t in candidates if _stems(t.dimension) == _stems(table.dimension))
    )
    return table, sections if len(sections) > 1 else ()


_WH = frozenset({"what", "which", "who", "how", "when", "where", "whi", "wh"})


def _short_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """Row names without the words every one of them starts with ("Acme Flex", "Acme Fixed" → "Flex", "Fixed")."""
    split = [k.split() for k in keys]
    n = 0
    while all(len(w) > n + 1 for w in split) and len({w[n].lower() for w in split}) == 1:
        n += 1
    return tuple(" ".join(w[n:]) for w in split)


@dataclass(frozen=True)
class _Reading:
    key: tuple[str, str]
    label: str
    passages: tuple[Passage, ...]


def _readings(passages: list[Passage]) -> list[_Reading]:
    groups: dict[tuple[str, str], list[Passage]] = {}
    for p in passages:
        groups.setdefault((p.article_id, _section_label(p)), []).append(p)
    articles = {k[0] for k in groups}
    out: list[_Reading] = []
    seen_articles: set[str] = set()
    for key, ps in groups.items():
        if len(articles) > 1:
            # Different articles: one reading per title (chunks of one page may carry several ids).
            title = ps[0].title.strip().lower()
            if title in seen_articles:
                continue
            seen_articles.add(title)
            same = tuple(p for p in passages if p.title.strip().lower() == title)
            out.append(_Reading(key, ps[0].title, same))
        else:
            out.append(_Reading(key, key[1], tuple(ps)))
    if len(articles) == 1 and len(out) > 2:
        # One article: its introduction (the section named like the article) is no reading of its own.
        out = [r for r in out if r.label != r.passages[0].title] or out
    return out


def _readings_split(
    question: str,
    passages: list[Passage],
    embedder: Embedder,
    margin: float,
    distinct_below: float,
    min_similarity: float,
) -> tuple[str, str] | None:
    readings = _readings(passages)
    if len(readings) < 2:
        return None
    first, second = readings[0], readings[1]
    if len(first.passages) * 2 > len(passages):
        return None  # most of the best passages agree on one reading
    q = _stems(question)
    for reading in (first, second):
        if not q & _stems(" ".join(f"{p.title} {p.section} {p.text}" for p in reading.passages)):
            return None  # a reading that shares no word with the question is no reading of it
    texts = [p.text[:600] for p in (*first.passages, *second.passages)]
    vecs = embedder.embed([question, *texts])
    sims = vecs[1:] @ vecs[0]
    s1, s2 = float(sims[: len(first.passages)].max()), float(sims[len(first.passages) :].max())
    if abs(s1 - s2) > margin or max(s1, s2) < min_similarity:
        return None  # one reading clearly fits better, or neither is about the question
    v1 = vecs[1 + int(sims[: len(first.passages)].argmax())]
    v2 = vecs[1 + len(first.passages) + int(sims[len(first.passages) :].argmax())]
    if float(v1 @ v2) >= distinct_below:
        return None  # the two say the same thing
    l1, l2 = _stems(first.label), _stems(second.label)
    if (q & (l1 ^ l2)) and not _UNSPECIFIED_WHO.search(question):
        return None  # the question uses a word of one reading's name only: it chose
    t1, t2 = (_stems(" ".join(p.text for p in r.passages)) for r in (first, second))
    if q & (t1 ^ t2) - (l1 | l2):
        return None  # the question uses a word only one reading's text has ("pillows"): it points there
    return first.label, second.label


_NARRATIVE_KEYS = re.compile(r"ticket|note|history|summary|subject|comment|message|outcome|reason", re.IGNORECASE)


def resolved_row(question: str, passages: list[Passage], known: str) -> str | None:
    """The row of a table the question is about that one value of the customer's own record
    names ("Fixed 12" for a customer whose tariff is "Acme Fixed 12 (2025)"), or None."""
    q = _stems(question)
    values = [_stems(v) for v in known.splitlines() if v.strip()]
    for p in passages[:2]:
        for table in tables(p.text):
            if not q & _stems(f"{table.dimension} {table.columns}"):
                continue
            for key, d in zip(table.keys, _distinctive(table.keys), strict=True):
                if d and any(d <= v for v in values if v):
                    return key
    return None


def known_words(facts: CustomerFacts | None) -> str:
    """The short values of the customer's own record, one per line (a tariff's name, a meter's
    type): a row one of them names needs no question. Free text (tickets, notes) is left out."""
    if facts is None:
        return ""
    out: list[str] = [facts.tier]

    def walk(value: object, key: str = "") -> None:
        if _NARRATIVE_KEYS.search(key):
            return
        if isinstance(value, str) and len(value.split()) <= 8:
            out.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)

    walk(facts.attributes)
    return "\n".join(v for v in out if v.strip())


def needs_clarification(
    question: str,
    history: list[str],
    passages: list[Passage],
    *,
    embedder: Embedder | None = None,
    known: str = "",
    company: str = "",
    max_words: int = 5,
    margin: float = 0.06,
    distinct_below: float = 0.8,
    min_similarity: float = 0.3,
) -> Clarification | None:
    """One clarifying question for ``question``, or None (answer it).

    ``history``: the conversation's earlier messages (any: no clarification once it has
    started); ``passages``: the retrieved passages, best first; ``known``: the short values of
    the customer's own record, one per line (a row one of them names is resolved); ``company``: the tenant's name (not a
    specific); ``max_words``: content words beyond which a question is specific; ``margin``:
    how close two readings' similarities to the question must be; ``distinct_below``: two
    readings this similar to each other are one; ``min_similarity``: below it neither reading is
    about the question (that is for abstention, not clarification). Defaults chosen on the demo and MTRAG
    (``python -m bench bot_clarify``)."""
    if any(_stems(h) for h in history) or not passages:
        return None
    words = _stems(question) - _stems(company)
    if not words or len(words) > max_words or _SPECIFIC.search(question) or _named_proper(question, company):
        return None
    if _MULTI_PART.search(question.strip()):
        return None  # several questions at once: each is specific enough to answer
    rows = _row_split(question, passages, known)
    if rows is not None:
        table, sections = rows
        dimension = table.dimension.lower()
        if len(dimension.split()) > 3 or _stems(dimension) & _WH:
            dimension = ""  # "What you want to change" is no noun: ask "which of these"
        return Clarification("rows", dimension, _short_keys(table.keys)[:6], sections[:3])
    if embedder is None:
        return None
    split = _readings_split(question, passages, embedder, margin, distinct_below, min_similarity)
    if split is not None:
        return Clarification("readings", "", split)
    return None


def chosen_query(reply: str, question: str, options: list[str]) -> str:
    """The query after a clarification: the original question, the customer's reply and the
    option the reply picks (by an ordinal — "the second one" — or by shared words)."""
    pick = ""
    low = reply.lower()
    for word, index in _ORDINALS.items():
        if re.search(rf"\b{word}\b", low) and options:
            pick = options[index] if -len(options) <= index < len(options) else ""
            break
    if not pick and options:
        r = _stems(reply)
        scored = sorted(((len(r & _stems(o)), o) for o in options), key=lambda x: -x[0])
        if scored and scored[0][0] > 0 and (len(scored) == 1 or scored[0][0] > scored[1][0]):
            pick = scored[0][1]
    return " ".join(x for x in (question, reply, pick) if x).strip()


__all__ = ["Clarification", "chosen_query", "known_words", "needs_clarification", "resolved_row", "tables"]
