"""Find personal data and secrets and replace them with typed placeholders.

Cards, IBANs and phone numbers keep their last four characters (``[CARD ****1111]``) so
an agent can still tell them apart; CVVs, e-mails, national ids and secrets are removed
entirely (``[CVV]``, ``[EXPIRY]``, ``[EMAIL]``, ``[ID]``, ``[SECRET]``). Redacting a redacted text
changes nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from core.redaction.patterns import Kind, Span, own_spans
from core.redaction.presidio import PresidioDetector

# Which kind wins when two detectors claim overlapping text.
_PRIORITY = {
    Kind.secret: 0,
    Kind.card: 1,
    Kind.cvv: 2,
    Kind.expiry: 3,
    Kind.iban: 4,
    Kind.national_id: 5,
    Kind.email: 6,
    Kind.phone: 7,
}
_KEEP_LAST_FOUR = {Kind.card, Kind.iban, Kind.phone}
ALL_KINDS: frozenset[Kind] = frozenset(Kind)
# Published help-center content keeps the company's own e-mail and phone number.
KB_KINDS: frozenset[Kind] = frozenset({Kind.card, Kind.cvv, Kind.expiry, Kind.iban, Kind.national_id, Kind.secret})
_PLACEHOLDER = re.compile(r"\[(?:CARD|IBAN|PHONE) \*{4}\w{1,4}\]|\[(?:CVV|EXPIRY|EMAIL|ID|SECRET)\]")


@dataclass(frozen=True)
class RedactionResult:
    text: str
    counts: dict[str, int] = field(default_factory=dict)  # kind -> how many were replaced

    @property
    def changed(self) -> bool:
        return bool(self.counts)


def _could_matter(kinds: Collection[Kind]) -> frozenset[Kind]:
    """The requested kinds and every kind that outranks one of them in ``_resolve``."""
    if not kinds:
        return frozenset()
    lowest = max(_PRIORITY[k] for k in kinds)
    return frozenset(k for k, rank in _PRIORITY.items() if rank <= lowest)


def placeholder(kind: Kind, value: str) -> str:
    if kind in _KEEP_LAST_FOUR:
        tail = re.sub(r"[^0-9A-Za-z]", "", value)[-4:]
        return f"[{kind.value} ****{tail}]"
    return f"[{kind.value}]"


def _resolve(spans: list[Span], protected: list[tuple[int, int]]) -> list[Span]:
    """Drop spans inside existing placeholders, then keep the highest-priority, longest
    span wherever spans overlap."""

    def inside_placeholder(s: Span) -> bool:
        return any(a <= s.start and s.end <= b for a, b in protected)

    ordered = sorted(
        (s for s in spans if s.end > s.start and not inside_placeholder(s)),
        key=lambda s: (_PRIORITY[s.kind], -(s.end - s.start), s.start),
    )
    kept: list[Span] = []
    for s in ordered:
        if all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda s: s.start)


class Redactor:
    """Presidio's pattern recognizers plus our own patterns. Build once, share freely."""

    def __init__(self, presidio: PresidioDetector | None = None, *, use_presidio: bool = True) -> None:
        self.presidio = presidio or (PresidioDetector() if use_presidio else None)

    def spans(self, text: str, kinds: Collection[Kind] = ALL_KINDS) -> list[Span]:
        """Every span that survives the overlap rules; with ``kinds``, only the detectors that
        can change the result for those kinds run (the same spans of those kinds as a full
        scan). A kind ranked below every requested kind can never push a requested span
        out, so its detectors are skipped: the output filter, which masks no phone numbers,
        runs no phone recognizer (the costliest one)."""
        if not text:
            return []
        needed = _could_matter(kinds)
        found = own_spans(text)
        if self.presidio is not None:
            found.extend(self.presidio.spans(text, needed))
        protected = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
        return _resolve(found, protected)

    def redact(self, text: str, kinds: Collection[Kind] = ALL_KINDS) -> RedactionResult:
        spans = [s for s in self.spans(text, kinds) if s.kind in kinds]
        if not spans:
            return RedactionResult(text)
        parts: list[str] = []
        pos = 0
        counts: Counter[str] = Counter()
        for s in spans:
            parts.append(text[pos : s.start])
            parts.append(placeholder(s.kind, text[s.start : s.end]))
            counts[s.kind.value] += 1
            pos = s.end
        parts.append(text[pos:])
        return RedactionResult("".join(parts), dict(counts))

    def __call__(self, text: str) -> str:
        return self.redact(text).text

    def describe(self) -> dict[str, object]:
        return {
            "redactor": "switchboard",
            "own_patterns": ["card+luhn", "cvv", "email", "secrets", "de_tax_id"],
            "presidio": self.presidio.describe() if self.presidio else None,
        }
