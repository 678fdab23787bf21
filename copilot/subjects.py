"""Subject linking: KB articles about one named subject (a product, a venue) carry it as a
title prefix, ``"Subject: question"``. The copilot finds the subjects the conversation has
named (by either side, as ASR-transcribed speech or chat) and ranks them by how recently
they were named, so "what's the check-in time?" after "the Grant Hotel" suggests the Grant
Hotel's answer, not another hotel's.

Names are matched forgivingly, because speech transcripts are noisy: a name counts as said
when the words carrying most of its weight (rare words weigh more) occur in one turn, spelt
exactly, as one word split in two ("market place"), or nearly ("arts" / "art",
"exploratorum"). Part of a name after " - " or ", " (a branch, a chain) is optional. When
one turn names both "the Presidio" and "Presidio Kebab", the longer match wins.
"""

from __future__ import annotations

import math
import re
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from rapidfuzz import fuzz, process

from copilot.refresh import Refreshing
from core.types import Turn

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset("the a an of and at in on by to for".split())
# Words that name a kind of place rather than one place: a name needs one other word said.
_GENERIC = frozenset(
    "hotel restaurant inn cafe bar house guest guesthouse museum park square street kitchen grill "
    "club lodge gallery theatre theater cinema pool church college".split()
)
_UNITS = "zero one two three four five six seven eight nine".split()
_NUMBER_WORDS = frozenset(_UNITS)
_DIGITS = dict(zip("0123456789", _UNITS, strict=True))
# Spoken numbers read digit by digit, the way a name's digits are: "nineteen oh six" and
# "Nineteen 06" are both "one nine zero six", "pier thirty nine" and "Pier 39" "three nine".
_TEEN_WORDS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TEENS = {w: ("one", u) for w, u in zip(_TEEN_WORDS, _UNITS, strict=True)}
_TENS = {w: _UNITS[i] for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
_QUALIFIER = re.compile(r" - |, ")
MATCH = 0.7  # share of a name's weight that must be said
FUZZY = 84  # rapidfuzz ratio for a near spelling of a long word
DECAY_TURNS = 8.0  # a subject named this many turns earlier scores one point less


def subject_of(title: str) -> str | None:
    head, sep, _ = title.partition(": ")
    return head.strip() if sep and 2 <= len(head) <= 80 else None


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _digit_words(tokens: list[str]) -> list[str]:
    """Numbers as their digits' names: "39" and "thirty nine" -> "three nine"; an "oh"
    between number words is a zero."""
    out: list[str] = []
    for i, w in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if w.isdigit():
            out += [_DIGITS[d] for d in w]
        elif w in _TEENS:
            out += _TEENS[w]
        elif w in _TENS:
            out += [_TENS[w]] if nxt in _UNITS[1:] else [_TENS[w], "zero"]
        elif w == "oh" and out and out[-1] in _NUMBER_WORDS and (nxt in _NUMBER_WORDS or nxt.isdigit()):
            out.append("zero")
        else:
            out.append(w)
    return out


def _join_numbers(tokens: list[str]) -> list[str]:
    """A run of digit names is one token, ``#1906``: a name's number must be said whole."""
    out: list[str] = []
    for w in tokens:
        if w in _NUMBER_WORDS:
            digit = str(_UNITS.index(w))
            if out and out[-1].startswith("#"):
                out[-1] += digit
            else:
                out.append("#" + digit)
        else:
            out.append(w)
    return out


def words(text: str) -> list[str]:
    """Lower-cased, stemmed words; a number, spoken or written, is one ``#digits`` token."""
    text = text.lower().replace("&", " and ").replace("'s", "s").replace("'", "")
    text = re.sub(r"(\d)([a-z])", r"\1 \2", text)
    return [_stem(w) for w in _join_numbers(_digit_words(_TOKEN.findall(text)))]


@dataclass(frozen=True)
class Subject:
    name: str
    core: tuple[str, ...]  # the name without its qualifier (" - SoMa", ", a Joie de Vivre Hotel")
    tokens: tuple[str, ...]  # the whole name

    @cached_property  # checked for every candidate name in every turn
    def informative(self) -> frozenset[str]:
        return frozenset(w for w in self.tokens if w not in _GENERIC and not w.startswith("#"))


@dataclass(frozen=True)
class Mention:
    subject: Subject
    turn: int  # index of the last turn that named it
    coverage: float  # share of the name's weight said in that turn


@dataclass
class _Catalog:
    subjects: list[Subject]
    df: Counter[str] = field(default_factory=Counter)
    by_token: dict[str, list[Subject]] = field(default_factory=dict)
    vocab: list[str] = field(default_factory=list)  # long name words, for near spellings
    _said: OrderedDict[str, frozenset[str]] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        for s in self.subjects:
            for w in set(s.tokens):
                self.df[w] += 1
                self.by_token.setdefault(w, []).append(s)
        self.vocab = sorted(w for w in self.df if len(w) >= 5 and not w.startswith("#"))

    def idf(self, word: str) -> float:
        return math.log((len(self.subjects) + 1) / (self.df.get(word, 0) + 0.5))

    def coverage(self, name: tuple[str, ...], said: frozenset[str]) -> float:
        total = sum(self.idf(w) for w in name)
        return sum(self.idf(w) for w in name if w in said) / total if total else 0.0

    def said(self, text: str) -> frozenset[str]:
        """The name words a turn contains: exactly, split in two, or nearly spelt."""
        if (hit := self._said.get(text)) is not None:
            self._said.move_to_end(text)
            return hit
        ws = words(text)
        found = {w for w in ws if w in self.df}
        found |= {a + b for a, b in zip(ws, ws[1:], strict=False) if a + b in self.df}
        for w in {w for w in ws if len(w) >= 5 and w not in self.df and not w.startswith("#")}:
            for cand, _score, _i in process.extract(w, self.vocab, scorer=fuzz.ratio, score_cutoff=FUZZY, limit=3):
                found.add(cand)
        result = frozenset(found)
        self._said[text] = result
        if len(self._said) > 20_000:
            self._said.popitem(last=False)
        return result

    def mentions(self, turns: list[Turn]) -> dict[str, Mention]:
        """The last mention of every subject named in the conversation."""
        last: dict[str, Mention] = {}
        for i, turn in enumerate(turns):
            said = self.said(turn.text)
            if not said:
                continue
            found: list[tuple[Mention, frozenset[str]]] = []
            seen: set[str] = set()
            for w in said:
                for s in self.by_token.get(w, ()):
                    if s.name in seen:
                        continue
                    seen.add(s.name)
                    cov = max(self.coverage(s.core, said), self.coverage(s.tokens, said))
                    if cov >= MATCH and s.informative & said:
                        found.append((Mention(s, i, cov), frozenset(t for t in s.tokens if t in said)))
            for m, matched in found:
                if not any(matched < other for _, other in found):  # the longer match wins
                    last[m.subject.name] = m
        return last


def _build(titles: list[str]) -> _Catalog:
    names = sorted({s for t in titles if (s := subject_of(t))})
    subjects = []
    for n in names:
        core = tuple(w for w in words(_QUALIFIER.split(n)[0]) if w not in _STOP)
        full = tuple(w for w in words(n) if w not in _STOP)
        if full:
            subjects.append(Subject(n, core or full, full))
    return _Catalog(subjects)


class SubjectLinker:
    """Per tenant, the subjects found in article titles; built on first use from ``titles``."""

    def __init__(self, titles: Callable[[str], list[str]], *, refresh_s: float = 60.0) -> None:
        self.titles = titles
        self.refresh_s = refresh_s  # new articles are picked up within this time (rebuilt in the background)
        self._by_tenant: Refreshing[_Catalog] = Refreshing(
            lambda tenant, _: _build(self.titles(tenant)), refresh_s, name="copilot-subjects"
        )

    def _catalog(self, tenant_id: str) -> _Catalog:
        return self._by_tenant.get(tenant_id)

    def subjects(self, tenant_id: str) -> list[Subject]:
        return self._catalog(tenant_id).subjects

    def forget(self, tenant_id: str) -> None:
        self._by_tenant.forget(tenant_id)

    def rank(self, tenant_id: str, turns: list[Turn], n: int = 3) -> list[tuple[Subject, float]]:
        """Up to ``n`` subjects the conversation named, the most likely first, with a score:
        one point less per ``DECAY_TURNS`` turns since it was named, plus how fully."""
        catalog = self._catalog(tenant_id)
        if not catalog.subjects or not turns:
            return []
        end = len(turns) - 1
        scored = [
            (m.subject, -(end - m.turn) / DECAY_TURNS + 0.3 * m.coverage) for m in catalog.mentions(turns).values()
        ]
        scored.sort(key=lambda pair: (-pair[1], -len(pair[0].tokens), pair[0].name))
        return scored[:n]

    def link(self, tenant_id: str, turns: list[Turn]) -> Subject | None:
        """The most likely subject of the conversation, if it named any."""
        ranked = self.rank(tenant_id, turns, n=1)
        return ranked[0][0] if ranked else None
