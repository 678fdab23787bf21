"""Presidio's pattern recognizers, used directly (no ``AnalyzerEngine``, so no spaCy
model is ever loaded): cards (Luhn), IBANs (checksum), phone numbers (``phonenumbers``,
minus amounts and bare ids: ``core.redaction.phones``), US SSN, UK NINO, Spanish
NIF/NIE and the German tax id (checksums).

Importing ``presidio_analyzer`` takes a few seconds once per process; the recognizers
are built on first use and then cost about a millisecond per message.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Collection, Sequence
from typing import Any

from core.errors import ConfigurationError
from core.redaction.patterns import Kind, Span, card_ok
from core.redaction.phones import not_a_phone

# recognizer entity -> (our kind, minimum score)
ENTITY_KINDS: dict[str, tuple[Kind, float]] = {
    "CREDIT_CARD": (Kind.card, 0.3),
    "IBAN_CODE": (Kind.iban, 0.3),
    "PHONE_NUMBER": (Kind.phone, 0.3),
    "US_SSN": (Kind.national_id, 0.5),
    "UK_NINO": (Kind.national_id, 0.5),
    "ES_NIF": (Kind.national_id, 0.5),
    "ES_NIE": (Kind.national_id, 0.5),
    "DE_TAX_ID": (Kind.national_id, 0.5),
}
DEFAULT_PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IE", "AT", "CH", "BE")


# The fewest digits a text must hold for any recognizer to find something in it: an IBAN's two
# check digits (its account part may be all letters in some countries' formats). Everything else
# has more: a UK NINO six (AB123456C), a Spanish NIE seven, a NIF eight, a US SSN nine, the German
# tax id eleven, a card twelve or more, and a phone number at least four (the shortest national
# number of any region in ``phonenumbers``' metadata, checked in tests/trust/test_redaction.py).
# A text with fewer digits (most customer messages have none) skips the recognizers: ~0.6 ms each.
MIN_DIGITS = 2

# What each recognizer's patterns (presidio-analyzer 2.2.366) need before they can match, so a
# recognizer is not called on a text that cannot hold its id (~0.1 ms per call, and an answer
# with a date and an amount has digits enough for ``MIN_DIGITS``):
# - the longest run of digits in which single separators (space, dash, dot) may stand between
#   two digits (``digit_run``): a card 13 or more ("4111 1111 1111 1111"; its pattern is
#   4 + 3 + 3 + 3 digits at least), a US SSN 9 ("536-22-1234"), a UK NINO 6 ("AB 12 34 56 C"),
#   a Spanish NIF 7 and NIE 7 ("1234567L": a DNI below ten million without its leading zero,
#   "X1234567L"), the German tax id 11;
# - an IBAN: two letters and its two check digits at the start ("DE89", any case);
# - a phone number: nothing more (its formats take brackets and plus signs).
# tests/trust/test_redaction.py checks that the spans are the same with and without these.
MIN_DIGIT_RUN: dict[str, int] = {
    "CREDIT_CARD": 13,
    "US_SSN": 9,
    "UK_NINO": 6,
    "ES_NIF": 7,
    "ES_NIE": 7,
    "DE_TAX_ID": 11,
}
_DIGIT_RUN = re.compile(r"\d(?:[ .\-]?\d)*")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_IBAN_START = re.compile(r"[A-Za-z]{2}\d{2}")


def digit_run(text: str) -> int:
    """The most digits in one run of ``text`` where a single space, dash or dot may separate
    two digits ("4111 1111-1111" -> 12)."""
    return max((sum(ch.isdigit() for ch in m.group()) for m in _DIGIT_RUN.finditer(text)), default=0)


class PresidioDetector:
    """Thread-safe, lazily built set of Presidio pattern recognizers."""

    def __init__(self, phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS) -> None:
        if not phone_regions:
            raise ConfigurationError("PresidioDetector needs at least one phone region, e.g. ('US', 'DE')")
        self.phone_regions = tuple(phone_regions)
        self.min_digits = MIN_DIGITS
        self.prechecks = True  # skip a recognizer whose id cannot be in the text (``MIN_DIGIT_RUN``)
        self._recognizers: list[Any] | None = None
        self._lock = threading.Lock()

    @property
    def recognizers(self) -> list[Any]:
        if self._recognizers is None:
            with self._lock:
                if self._recognizers is None:
                    self._recognizers = self._build()
        return self._recognizers

    def _build(self) -> list[Any]:
        try:
            from presidio_analyzer.predefined_recognizers import (
                CreditCardRecognizer,
                DeTaxIdRecognizer,
                EsNieRecognizer,
                EsNifRecognizer,
                IbanRecognizer,
                PhoneRecognizer,
                UkNinoRecognizer,
                UsSsnRecognizer,
            )
        except ImportError as exc:  # pragma: no cover - presidio is a pinned dependency
            raise ConfigurationError("Install presidio-analyzer (pip install presidio-analyzer)") from exc
        logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)  # per-match debug lines are noise
        return [
            CreditCardRecognizer(),
            IbanRecognizer(),
            PhoneRecognizer(supported_regions=self.phone_regions),
            UsSsnRecognizer(),
            UkNinoRecognizer(),
            EsNifRecognizer(),
            EsNieRecognizer(),
            DeTaxIdRecognizer(),
        ]

    def spans(self, text: str, kinds: Collection[Kind] | None = None) -> list[Span]:
        """Spans of every recognizer, or (``kinds``) of the recognizers that find those kinds."""
        out: list[Span] = []
        if sum(ch.isdigit() for ch in text) < self.min_digits:
            return out  # nothing any recognizer finds can be in it (``MIN_DIGITS``)
        run = digit_run(text) if self.prechecks else 0
        iban = bool(_IBAN_START.search(text)) if self.prechecks else True
        for rec in self.recognizers:
            if kinds is not None and not any(
                ENTITY_KINDS[e][0] in kinds for e in rec.supported_entities if e in ENTITY_KINDS
            ):
                continue
            if self.prechecks and not any(_may_hold(e, run, iban) for e in rec.supported_entities):
                continue
            # Presidio's IBAN pattern takes capitals only; a customer types "de89 3704 …" as often.
            # ASCII letters are raised one for one, so every span still points into ``text``.
            seen = text.translate(_ASCII_UPPER) if "IBAN_CODE" in rec.supported_entities else text
            for res in rec.analyze(seen, entities=rec.supported_entities, nlp_artifacts=None) or []:
                kind_min = ENTITY_KINDS.get(res.entity_type)
                if kind_min is None or res.score < kind_min[1]:
                    continue
                if kind_min[0] is Kind.card and not card_ok(re.sub(r"\D", "", text[res.start : res.end])):
                    continue
                if kind_min[0] is Kind.phone and not_a_phone(text, res.start, res.end):
                    continue  # an amount ("164.50 XTS") or an id ("order 3707955617")
                out.append(Span(res.start, res.end, kind_min[0], source=type(rec).__name__))
        return out

    def describe(self) -> dict[str, object]:
        return {"detector": "presidio-patterns", "entities": sorted(ENTITY_KINDS), "phone_regions": self.phone_regions}


def _may_hold(entity: str, run: int, iban: bool) -> bool:
    """Whether a text whose ``digit_run`` is ``run`` (``iban``: it has an IBAN's start) may hold
    ``entity``."""
    if entity == "IBAN_CODE":
        return iban
    return run >= MIN_DIGIT_RUN.get(entity, 0)
