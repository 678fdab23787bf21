"""The strict draft verifier: an instruction-following model's phrasing is sent only when
every sentence is supported by the units it cites.

A draft sentence passes when all of these hold:

1. it cites at least one known source ``[n]`` (courtesy phrases need none);
2. every quantity in it — amount, percentage, duration, date, time, phone number,
   plain number — is in a cited unit with the same normalised value and unit
   ("10 working days" is not "10 days");
3. the relation holds: some cited sentence holds that quantity *and* the thing it is
   counted from ("14 days after the delivery date" needs a source sentence with 14 days
   and the delivery, not one with 14 days and the label);
4. negation and obligation agree with the cited sentence it follows most closely ("you
   must replace it" is not "you can keep it"; "you can't" is not "you can");
5. at most one content word is in neither the cited units nor the question (a synonym),
   and the sentence's content words are covered by them at 60 % or more.

Word overlap alone (the old check) passes the three wrong drafts of issue 12; these rules
reject them (tests/bot/test_compose_verify.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.compose.quantities import Quantity, quantities
from bot.compose.question import content_stems
from core.text import split_sentences

__all__ = ["Verdict", "verify", "same_stem"]

_CITE = re.compile(r"\[(\d{1,2})\]")
_COURTESY = re.compile(
    r"^\s*(?:thanks?(?: you)?|you're welcome|happy to help|glad to help|i hope (?:this|that) helps"
    r"|hope (?:this|that) helps|let me know if (?:you have|there's) (?:any )?(?:other|more) questions"
    r"|is there anything else[\w ]*)[.!?]?\s*$",
    re.I,
)
_NEGATION = re.compile(r"\b(?:not|no|never|none|nothing|neither|nor|without|cannot)\b|n't\b", re.I)
_OBLIGATION = re.compile(
    r"\b(?:must|have to|has to|had to|need to|needs to|required|requires|mandatory|obliged)\b", re.I
)
_PERMISSION = re.compile(r"\b(?:can|could|may|able to|allowed|free to|optional|choose)\b", re.I)
_RELATION_WORDS = frozenset("after from of before within since until following per by".split())
_STOP_AFTER = frozenset(
    "to for and or with in on at by your you we our it its is are be will can as that which who if when so".split()
)


@dataclass
class Verdict:
    ok: bool
    reasons: list[str] = field(default_factory=list)


_SENTENCE = re.compile(
    r"\s*(.+?[.!?…](?:\s*\[\d{1,2}\])*|.+?\[\d{1,2}\](?:\s*\[\d{1,2}\])*)(?=\s+[A-Z0-9\"'(]|\s*$)", re.S
)


def _sentences(text: str) -> list[str]:
    """Sentences with the citations that follow them ("… arrives. [1]" stays one sentence)."""
    out = [m.group(1).strip() for m in _SENTENCE.finditer(text.strip())]
    covered = sum(len(s) for s in out)
    if not out or covered < len(re.sub(r"\s+", "", text)) // 2:
        return split_sentences(text)
    return [s for s in out if s]


def same_stem(a: str, b: str) -> bool:
    """Stems match, or one is a prefix of the other sharing 5+ letters ("deliver"/"delivery")."""
    if a == b:
        return True
    if len(a) >= 5 and len(b) >= 5:
        short, long_ = sorted((a, b), key=len)
        return long_.startswith(short[:-1]) and len(short) >= 5
    return False


def _has(word: str, stems: set[str]) -> bool:
    return word in stems or any(same_stem(word, s) for s in stems)


def _qkey(q: Quantity) -> tuple[object, ...]:
    if q.kind == "money":
        return ("money", q.key[2])
    if q.kind == "date":
        return ("date", q.key[2], q.key[3])
    return q.key


def _year(q: Quantity) -> int:
    y = q.key[1]
    return y if isinstance(y, int) else 0


def _matches(q: Quantity, source: list[Quantity]) -> bool:
    for s in source:
        if s.kind != q.kind and not {s.kind, q.kind} <= {"number", "duration"}:
            continue
        if q.kind == "date" and s.kind == "date":
            if _qkey(q) == _qkey(s) and (not _year(q) or not _year(s) or _year(q) == _year(s)):
                return True
            continue
        if q.kind == s.kind and _qkey(q) == _qkey(s):
            return True
        if q.kind == "number" and s.value is not None and q.value == s.value:
            return True
    return False


def _anchor(sentence: str, q: Quantity) -> set[str]:
    """Content words of the thing a quantity is counted from ("after the delivery date")."""
    rest = re.findall(r"[A-Za-z][\w'’-]*|[.,;:]", sentence[q.end :])
    if not rest or rest[0].lower() not in _RELATION_WORDS:
        return set()
    words: list[str] = []
    for w in rest[1:]:
        lw = w.lower()
        if lw in ".,;:":
            break
        if words and lw in _STOP_AFTER:
            break
        words.append(w)
        if len(words) >= 4:
            break
    return set(content_stems(" ".join(words)))


def _polarity(text: str) -> tuple[int, bool, bool]:
    return len(_NEGATION.findall(text)) % 2, bool(_OBLIGATION.search(text)), bool(_PERMISSION.search(text))


def verify(draft: str, sources: dict[int, str], question: str = "", *, keep: frozenset[str] = frozenset()) -> Verdict:
    """Check ``draft`` against ``sources`` (citation number → the cited units' text, worked
    dates and sums included). ``keep``: quantity kinds the question asks for that the
    composed answer has (a draft without one drops what was asked: "Express shipping is
    available" for "how much does it cost?"). Returns every reason it fails."""
    sentences = _sentences(draft)
    if not sentences:
        return Verdict(False, ["empty draft"])
    asked = set(content_stems(question))
    reasons: list[str] = []
    if keep and not {q.kind for q in quantities(draft)} & keep:
        reasons.append(f"drops the {'/'.join(sorted(keep))} the question asks for")
    for raw in sentences:
        text = _CITE.sub("", raw).strip()
        cites = [int(n) for n in _CITE.findall(raw)]
        if not cites:
            if _COURTESY.match(text):
                continue
            reasons.append(f"uncited: {text!r}")
            continue
        if any(n not in sources for n in cites):
            reasons.append(f"cites an unknown source: {text!r}")
            continue
        cited = "\n".join(sources[n] for n in cites)
        source_sentences = [s for s in re.split(r"(?<=[.!?;])\s+|\n+", cited) if s.strip()]
        source_q = [quantities(s) for s in source_sentences]
        all_q = [q for qs in source_q for q in qs]
        cited_stems = set(content_stems(cited))
        for q in quantities(text):
            if not _matches(q, all_q):
                reasons.append(f"{q.text!r} is in no cited source: {text!r}")
                continue
            anchor = _anchor(text, q)
            holders = [i for i, qs in enumerate(source_q) if _matches(q, qs)]
            if anchor and not any(
                any(_has(a, set(content_stems(source_sentences[i]))) for a in anchor) for i in holders
            ):
                reasons.append(f"{q.text!r} is counted from something else in the source: {text!r}")
        words = [w for w in content_stems(text) if not any(ch.isdigit() for ch in w)]
        unsupported = [w for w in words if not _has(w, cited_stems) and not _has(w, asked)]
        if len(unsupported) > 1 or (words and 1 - len(unsupported) / len(words) < 0.6):
            reasons.append(f"unsupported words {unsupported}: {text!r}")
        best = max(
            source_sentences,
            key=lambda s: len(set(content_stems(s)) & set(words)) + 0.01 * (len(s) < 400),
        )
        neg_d, must_d, can_d = _polarity(text)
        neg_s, must_s, can_s = _polarity(best)
        if neg_d != neg_s:
            reasons.append(f"negation differs from the source ({best!r}): {text!r}")
        elif must_d and not must_s and can_s:
            reasons.append(f"says 'must' where the source says 'can' ({best!r}): {text!r}")
        elif can_d and must_s and not can_s and not neg_d:
            reasons.append(f"says 'can' where the source says 'must' ({best!r}): {text!r}")
    return Verdict(not reasons, reasons)
