"""Question-aware selection of answer units.

Every unit is scored against every part of the question:

    score = 0.50·sim(part, unit) + 0.15·sim(conversation query, unit) + 0.35·coverage
            + 0.2·type (0.05 for a yes/no question) + 0.2·steps + 0.25·row key + range
            + account prior + echo + comparable figure + opening sentence + bold
            − repeat/tried penalties − 0.02·source rank − length

- ``sim``: cosine of the embeddings (the unit with its section heading; a row with its
  header row);
- ``coverage``: IDF-weighted share of the part's content words the unit contains (IDF over
  the candidate units, so words every unit shares count little);
- ``type``: +1 when the unit holds what the part asks for (an amount for "how much", a
  duration or date for "how long"/"when", a phone number, a time of day), −1 when it
  does not; ``steps``: a numbered list (then a list, a step) for "how do I";
- ``row key``: a table row whose first cell the customer named ("Flexi plan", "A");
  ``range``: a row whose first cell is a range holding the customer's figure ("I owe £650"
  → "£300.01 to £1,000");
- account units (the customer's own record) are preferred for questions about "my …"
  and otherwise left out;
- a unit the bot already said in this conversation, or one the customer says they
  already tried, is pushed down (follow-ups get something new).

The weights were set by hand on the demo help center and MTRAG passages and checked on
the company dev set (docs/bot.md, "Composed answers").
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from bot.compose.quantities import Quantity, quantities
from bot.compose.question import WANT_KINDS, Part, Question, content_stems
from bot.compose.units import AnswerUnit
from core.models.embed import Embedder

__all__ = ["CachedEmbedder", "Scored", "Selection", "asked_stems", "coverage", "select"]


class CachedEmbedder:
    """An embedder with an LRU cache by text: KB units recur across questions."""

    def __init__(self, inner: Embedder, size: int = 20_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vecs = self.inner.embed(missing)
            for t, v in zip(missing, vecs, strict=True):
                self._cache[t] = v
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = self._cache[t]
            self._cache.move_to_end(t)
        return out

    def describe(self) -> dict[str, object]:
        return self.inner.describe()


@dataclass
class Scored:
    unit: AnswerUnit
    score: float
    sim: float
    coverage: float
    typed: bool  # holds what the part asks for (True when the part asks for no type)
    tried: bool = False  # what the customer says they already did (pushed down)


@dataclass
class PartChoice:
    part: Part
    chosen: list[Scored]
    ranked: list[Scored]  # every unit, best first

    @property
    def best(self) -> Scored | None:
        return self.chosen[0] if self.chosen else None


@dataclass
class Selection:
    question: Question
    parts: list[PartChoice]
    units: list[AnswerUnit]
    idf: dict[str, float] = field(default_factory=dict)
    vocabulary: dict[str, int] | None = None  # KB document frequency of the question's stems
    ignore: frozenset[str] = frozenset()  # stems left out of coverage (``select``'s ``ignore``)

    def chosen_units(self) -> list[AnswerUnit]:
        out: list[AnswerUnit] = []
        for pc in self.parts:
            for s in pc.chosen:
                if not any(s.unit is u for u in out):
                    out.append(s.unit)
        return out


_TRIED = re.compile(
    r"\b(?:already|tried|I've done|I have done|did that|done that|I did|didn't work|doesn't work|not working)\b", re.I
)
_UPPER_TOKEN = re.compile(r"(?<![A-Za-z])([A-Z]{1,2}|\d{1,3})(?![A-Za-z])")


_NOT_WORD = re.compile(r"[^a-z0-9£$€%]+")


@lru_cache(maxsize=16384)
def _norm(text: str) -> str:
    return _NOT_WORD.sub(" ", text.lower()).strip()


def _idf(units: list[AnswerUnit], stems: dict[int, frozenset[str]]) -> dict[str, float]:
    df: dict[str, int] = {}
    for i in range(len(units)):
        for w in stems[i]:
            df[w] = df.get(w, 0) + 1
    n = len(units)
    return {w: math.log(1 + n / (1 + d)) for w, d in df.items()}


def coverage(q: list[str], u: AbstractSet[str], idf: dict[str, float], default: float) -> float:
    """IDF-weighted share of the stems ``q`` found in ``u`` (``default``: the weight of a stem
    ``idf`` lacks); 0 for no stems."""
    if not q:
        return 0.0
    total = sum(idf.get(w, default) for w in q)
    hit = sum(idf.get(w, default) for w in q if w in u)
    return hit / total if total else 0.0


def asked_stems(text: str, ignore: AbstractSet[str]) -> list[str]:
    """The content stems of ``text`` (``content_stems``) less ``ignore`` (the company's name);
    all of them when nothing else is left: "What is Acme?" asks about the company itself."""
    stems = content_stems(text)
    return [w for w in stems if w not in ignore] or stems


def _row_key(unit: AnswerUnit, part: Part, question: Question, idf: dict[str, float], default: float) -> float:
    """1 when the customer named this row's key (its first cell), else 0. A short code
    ("A", "E7") must appear as that exact token; a longer key (at most six content words)
    needs two thirds of its IDF weight named, so a word every row shares counts little."""
    if unit.kind != "row" or not unit.cells:
        return 0.0
    key = unit.cells[0]
    best = 0.0
    # Named in this part counts fully; named only earlier in the conversation, half.
    for said, weight in ((part.text, 1.0), (question.context, 0.5)):
        if len(key) <= 3 and _UPPER_TOKEN.findall(key):
            hit = re.search(rf"(?<![A-Za-z0-9]){re.escape(key)}(?![A-Za-z0-9])", said) is not None
            best = max(best, weight * hit)
            continue
        key_stems = content_stems(key)
        if not key_stems or len(key_stems) > 6:
            return 0.0
        asked = set(content_stems(said))
        total = sum(idf.get(s, default) for s in key_stems)
        share = sum(idf.get(s, default) for s in key_stems if s in asked) / total if total else 0.0
        best = max(best, weight * share if share >= 0.66 else 0.0)
    return best


_RANGE_OVER = re.compile(
    r"\b(?:over|more than|above|from|at least|longer than|exceed\w*|not \w+ within|beyond)\b|\+", re.I
)
_RANGE_UNDER = re.compile(r"\b(?:up to|under|less than|below|at most|no more than)\b", re.I)


def _range(unit: AnswerUnit, given: list[Quantity]) -> float:
    """+0.6 when the row's first cell is a range holding a figure the customer gave
    ("£300.01 to £1,000" for "I owe £650"; "not fixed within 12 hours" for "13 hours"),
    -0.3 when it is a range of that kind without it."""
    if unit.kind != "row" or not unit.cells or not given:
        return 0.0
    cell = quantities(unit.cells[0])
    asked = next((q for q in given if any(b.kind == q.kind for b in cell)), None)
    if asked is None:
        return 0.0
    bounds = [q for q in cell if q.kind == asked.kind and _same_unit(q, asked)]
    value = asked.value
    if not bounds or value is None:
        return 0.0
    key = unit.cells[0]
    lo, hi = -math.inf, math.inf
    vals = [b.value for b in bounds if b.value is not None]
    if len(vals) >= 2:
        lo, hi = min(vals), max(vals)
    elif len(vals) == 1 and _RANGE_OVER.search(key):
        lo = vals[0]
    elif len(vals) == 1 and _RANGE_UNDER.search(key):
        hi = vals[0]
    else:
        return 0.0
    return 0.6 if lo <= value <= hi else -0.3


def _account_prior(unit: AnswerUnit, part: Part, question: Question, typed: float) -> float:
    """The customer's own record answers questions about "my …": more so when the record's
    labels are what the part names and it holds what the part asks for; never otherwise."""
    if not question.personal:
        return -1.0
    asked = set(content_stems(part.text))
    labels = set(content_stems(f"{unit.section} {' '.join(unit.header)}"))
    named = len(asked & labels) / len(asked) if asked else 0.0
    return 0.1 + 0.4 * named + (0.1 if typed > 0 else 0.0)


def _same_unit(a: Quantity, b: Quantity) -> bool:
    """Durations compare in the same unit (hours with hours); other kinds always."""
    return a.kind != "duration" or (len(a.key) > 2 and len(b.key) > 2 and a.key[2] == b.key[2])


def _typed(unit: AnswerUnit, part: Part) -> float:
    wanted = part.wants & set(WANT_KINDS)
    score = 0.0
    if wanted:
        kinds = {q.kind for q in unit.quantities}
        score += 1.0 if any(kinds & WANT_KINDS[w] for w in wanted) else -1.0
    return score


def _steps(unit: AnswerUnit, part: Part) -> float:
    """How well a unit answers "how do I …": a numbered list best, then a list, a step."""
    if "steps" not in part.wants:
        return 0.0
    return {"steps": 1.0, "list": 0.6, "step": 0.3, "item": 0.2}.get(unit.kind, 0.0)


def select(
    question: Question,
    units: list[AnswerUnit],
    embedder: Embedder,
    *,
    said_before: Sequence[str] = (),
    tried: Sequence[str] = (),
    ignore: AbstractSet[str] = frozenset(),
) -> Selection:
    """Score every unit for every part and choose what answers each part (best first).

    ``said_before``: the bot's earlier replies in this conversation; ``tried``: what the
    customer said they already did; ``ignore``: stems left out of coverage (the company's
    own name: every article is about the company, so "an email from <company>" names no unit)."""
    if not units:
        return Selection(question, [PartChoice(p, [], []) for p in question.parts], units, ignore=frozenset(ignore))
    stems = {i: u.search_stems for i, u in enumerate(units)}
    idf = _idf(units, stems)
    default_idf = math.log(1 + len(units))
    n_parts = len(question.parts)
    texts = [p.text for p in question.parts] + [p.focus for p in question.parts] + [question.context]
    texts += [u.search_text for u in units]
    tried_texts = [t for t in tried if _TRIED.search(t)]  # ``tried``: the customer's earlier messages
    vecs = embedder.embed(texts + tried_texts)
    # A part with a statement before its question is compared both whole and as the question.
    part_vecs = (vecs[:n_parts] + vecs[n_parts : 2 * n_parts]) / 2
    part_vecs /= np.maximum(np.linalg.norm(part_vecs, axis=1, keepdims=True), 1e-9)
    ctx_vec = vecs[2 * n_parts]
    unit_vecs = vecs[2 * n_parts + 1 : 2 * n_parts + 1 + len(units)]
    tried_vecs = vecs[2 * n_parts + 1 + len(units) :]
    ctx_sims = unit_vecs @ ctx_vec
    tried_sims = (unit_vecs @ tried_vecs.T).max(axis=1) if len(tried_texts) else np.zeros(len(units))
    before = [_norm(t) for t in said_before if t.strip()]
    ctx_stems = [w for w in content_stems(question.context) if w not in ignore]
    said_quantities = [q for t in tried for q in quantities(t)]  # figures from the customer's earlier turns
    first_of: dict[str, int] = {}
    for u in units:
        if u.kind == "sentence" and (u.section == u.title or not u.section):
            first_of.setdefault(u.article_id, u.position)
    choices: list[PartChoice] = []
    for k, part in enumerate(question.parts):
        sims = unit_vecs @ part_vecs[k]
        p_stems = asked_stems(part.text, ignore)
        focus = set(content_stems(part.focus))
        q_stems = p_stems + [w for w in ctx_stems if w not in p_stems]
        # The question's own words count most, a statement before it less, earlier turns least.
        weights = {w: (1.0 if w in focus else 0.6 if w in p_stems else 0.4) for w in q_stems}
        echoed = {q.key for q in part.quantities if q.kind in ("money", "percent")}
        # A figure is what "how much / when / what time" asks for; for "do I have to pay?" the
        # answer is yes or no, and the figure matters less.
        type_weight = 0.05 if "yesno" in part.wants else 0.2
        compared = {q.kind for q in part.quantities if q.kind in ("duration", "date")}
        given = part.quantities + [q for q in said_quantities if q.key not in {p.key for p in part.quantities}]
        # ``coverage`` of each unit, its denominator summed once (the same for every unit)
        cov_idf = {w: idf.get(w, default_idf) * weights[w] for w in q_stems}
        cov_total = sum(cov_idf[w] for w in q_stems)
        q_set = frozenset(q_stems)
        scored: list[Scored] = []
        for i, u in enumerate(units):
            unit_stems = stems[i]
            # Most units share no word with the question: one set intersection (in C) says so.
            cov = (
                sum(cov_idf[w] for w in q_stems if w in unit_stems) / cov_total
                if cov_total and not q_set.isdisjoint(unit_stems)
                else 0.0
            )
            typed = _typed(u, part)
            s = 0.5 * float(sims[i]) + 0.15 * float(ctx_sims[i]) + 0.35 * cov + type_weight * typed
            s += 0.2 * _steps(u, part)
            key = _row_key(u, part, question, idf, default_idf)
            s += 0.25 * key + _range(u, given)
            s -= 0.02 * u.source
            if u.is_account:
                s += _account_prior(u, part, question, typed)
            else:
                s -= 0.03 * max(0, len(u.plain) - 260) / 100
                if u.position == first_of.get(u.article_id):
                    s += 0.03  # an article's opening sentence says what matters most
                if u.emphasis:
                    s += 0.06  # the editor set it in bold
                if u.kind == "row" and "steps" in part.wants and not key:
                    s -= 0.05  # one row of a table is a poor answer to "what should I do"
            if compared and not u.is_account and compared & {q.kind for q in u.quantities}:
                s += 0.1  # "it ends in five weeks" meets "in the last 49 days": a rule to compare with
            if echoed and any(q.key in echoed for q in u.quantities):
                # the unit holds the very figure the customer gave ("I owe £412.60")
                s += 0.5 if u.is_account else 0.15
            if before and (said := _norm(u.plain)) and any(said in b for b in before):
                s -= 0.08
            if was_tried := bool(tried_sims[i] > 0.6):
                s -= 0.25
            typed_ok = typed >= 0 or not (part.wants & set(WANT_KINDS))
            scored.append(Scored(u, s, float(sims[i]), cov, typed_ok, was_tried))
        scored.sort(key=lambda x: x.score, reverse=True)
        choices.append(PartChoice(part, _choose(scored, part), scored))
    return Selection(question, choices, units, idf, ignore=frozenset(ignore))


CONTINUATION_CHARS = 400


def _continuation(ranked: list[Scored], best: Scored, part: Part) -> Scored | None:
    """For "how do I …" answered by one sentence of a paragraph: the paragraph's next sentence,
    when the two together stay short (``CONTINUATION_CHARS``). An instruction's caveat or
    timing usually follows it in the same paragraph ("… set up the new one with us. Don't
    cancel the old one until it is in place, which takes up to 3 working days."), and a
    sentence cut from it reads as the whole procedure. Not one the customer says they
    already did (selection pushes that down), nor a question the article asks its reader
    ("Need a hand with anything else?"): the reply would end asking it."""
    unit = best.unit
    if "steps" not in part.wants or unit.kind != "sentence" or unit.is_account:
        return None
    nxt = next(
        (
            s
            for s in ranked
            if s.unit.kind == "sentence"
            and s.unit.source == unit.source
            and s.unit.block == unit.block
            and s.unit.position == unit.position + 1
        ),
        None,
    )
    if nxt is None or nxt.tried or nxt.unit.plain.rstrip().endswith("?"):
        return None
    if len(unit.plain) + len(nxt.unit.plain) > CONTINUATION_CHARS:
        return None
    return nxt


def _choose(ranked: list[Scored], part: Part) -> list[Scored]:
    """The best unit, plus: the whole numbered list for "how do I" (or, for a sentence, the
    paragraph's next sentence: ``_continuation``); a near-tie row of the same
    table (an ambiguous "the longer one" shows both); one near-tie unit of the same section
    (a table row and the sentence under it that completes it), or of another section of the
    same article within 0.05."""
    if not ranked:
        return []
    best = ranked[0]
    chosen = [best]
    if "steps" in part.wants and best.unit.kind == "step":
        whole = next((s for s in ranked if s.unit.kind == "steps" and s.unit.block == best.unit.block), None)
        if whole is not None and len(whole.unit.steps) <= 8:
            return [whole]
    if best.unit.kind in ("steps", "list", "account", "section"):
        return chosen
    follow = _continuation(ranked, best, part)
    if follow is not None:
        chosen.append(follow)
    for other in ranked[1:4]:
        u = other.unit
        same_section = u.section == best.unit.section
        if (
            u.kind in ("sentence", "item", "row", "section")
            and u.article_id == best.unit.article_id
            and not (u.kind == "row" and best.unit.kind == "row" and u.block == best.unit.block)
            and other.score >= best.score - (0.04 if same_section else 0.05)
            and u.plain not in best.unit.plain
            and best.unit.plain not in u.plain
            and other is not follow
        ):
            chosen.append(other)
            break
    if best.unit.kind == "row":
        for other in ranked[1:4]:
            if (
                other.unit.kind == "row"
                and other.unit.block == best.unit.block
                and other.score >= best.score - 0.03
                and len(chosen) < 3
            ):
                chosen.append(other)
    return chosen
