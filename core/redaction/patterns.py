"""Our own detectors, for what Presidio's pattern recognizers do not cover (or cover
without the context we need): card numbers with the Luhn check in any common layout,
CVVs next to card words or right after a card number, expiry dates beside a card
number, e-mail addresses (Presidio's e-mail recognizer fetches the public-suffix list
over the network), secrets and passwords, and a German tax id fallback.

Every detector returns ``Span``s; ``core.redaction.redactor`` merges and masks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum


class Kind(str, Enum):
    card = "CARD"
    cvv = "CVV"
    expiry = "EXPIRY"  # a card's expiry date, masked only beside a card number
    iban = "IBAN"
    email = "EMAIL"
    phone = "PHONE"
    national_id = "ID"
    secret = "SECRET"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: Kind
    source: str = "switchboard"  # which detector found it (presidio recognizer name or ours)


def card_ok(digits: str) -> bool:
    """Luhn-valid and shaped like a real card brand (so 14-digit parcel numbers that
    happen to pass Luhn are not masked as cards)."""
    if not luhn_ok(digits) or len(set(digits)) == 1:
        return False
    n = len(digits)
    if digits[0] == "4":
        return n in (13, 16, 19)
    if digits[:2] in ("34", "37"):
        return n == 15
    if digits[:2] in ("36", "38", "39") or digits[:3] in ("300", "301", "302", "303", "304", "305"):
        return n in (14, 16, 19)
    if "51" <= digits[:2] <= "55" or "2221" <= digits[:4] <= "2720":
        return n == 16
    if digits[:2] in ("35", "62", "64", "65") or digits[:4] == "6011" or digits[:2] == "60":
        return 16 <= n <= 19
    if digits[:2] in ("50", "56", "57", "58", "63", "67"):  # Maestro
        return 12 <= n <= 19
    return False


def luhn_ok(digits: str) -> bool:
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# 13-19 digits, optionally grouped by single spaces, dashes or dots.
_CARD = re.compile(r"(?<![\w.-])(?:\d[ .-]?){12,18}\d(?![\w-])")
_CARD_WORDS = (
    r"(?:cvv2?|cvc2?|cid|csc|cvn|security\s+code|card\s+(?:security\s+)?code|verification\s+(?:code|number|value)"
    r"|3[- ]digit(?:s|\s+code)?|three[- ]digit(?:s|\s+code)?|digits\s+on\s+the\s+back|code\s+on\s+the\s+back)"
)
_CVV_AFTER_WORD = re.compile(_CARD_WORDS + r"[^\d\n]{0,20}?(?<!\d)(\d{3,4})(?!\d)", re.IGNORECASE)
_CVV_BEFORE_WORD = re.compile(r"(?<!\d)(\d{3,4})(?!\d)\s*(?:is\s+(?:the|my)\s+)?(?:\(?)" + _CARD_WORDS, re.IGNORECASE)
# An expiry date: MM/YY, MM/YYYY, MM-YY (optionally after "exp", "expiry", "valid thru"...).
_EXPIRY_WORDS = r"(?:exp(?:iry|ires|iration|\.)?(?:\s+date)?|valid(?:\s+(?:thru|through|until|till))?|good\s+thru)"
_MMYY = r"(?<![\d/.-])(?P<exp>(?:0?[1-9]|1[0-2])\s?[/-]\s?(?:20\d{2}|\d{2}))(?![\d/.-])"
# right after a card number (or its CVV): the expiry, with or without its word
_EXPIRY_AFTER = re.compile(r"[\s,;:()-]{0,4}(?:" + _EXPIRY_WORDS + r"\W{0,3})?" + _MMYY, re.IGNORECASE)
# near a card number, before or after it: the expiry with its word
_EXPIRY_WORDED = re.compile(r"\b" + _EXPIRY_WORDS + r"\W{0,3}" + _MMYY, re.IGNORECASE)
_EXPIRY_WINDOW = 60  # characters around a card number searched for a worded expiry
# right after a card number (or its expiry): 3-4 digits
_AFTER_CARD = re.compile(r"[\s,;:/-]{0,4}(?:(?:and|cvv2?|cvc2?|code)\W{0,3})?(\d{3,4})(?!\d)", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_SECRET_TOKENS = re.compile(
    r"(?:"
    r"sk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{16,}"  # OpenAI-style keys
    r"|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
    r"|AKIA[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{30,}"  # GitHub
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API key
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # JWT
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"
    r")"
)
# "password: hunter2", "my pin is 1234", "api key = abc..." -> the value only
_SECRET_VALUE = re.compile(
    r"\b(?:pass(?:word|wd|code|phrase)?|pwd|pin(?:\s+(?:code|number))?|api[\s_-]?key|access[\s_-]?token|"
    r"secret(?:[\s_-]?key)?|auth[\s_-]?token|one[\s-]?time\s+code|otp|2fa\s+code|verification\s+code)"
    r"(?P<sep>\s+(?:is|was|=|:)|\s*[:=])\s*[\"']?(?P<value>[^\s\"',;]{3,})",
    re.IGNORECASE,
)
# German tax id (Steuer-IdNr.): 11 digits, digit 1 non-zero, ISO 7064 check digit; context required
_DE_TAX_CTX = re.compile(r"(?:steuer|tax)[\s-]*(?:id|identifikationsnummer|nummer|number)|idnr", re.IGNORECASE)
_DE_TAX = re.compile(r"(?<!\d)[1-9](?:\s?\d){10}(?!\d)")


def _de_tax_ok(digits: str) -> bool:
    product = 10
    for ch in digits[:10]:
        total = (int(ch) + product) % 10 or 10
        product = (total * 2) % 11
    check = (11 - product) % 10
    return check == int(digits[10])


def find_cards(text: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        # The pattern is greedy ("4111 1111 1111 1111 123"): try the longest prefix of
        # whole digit groups that is a valid card.
        groups = list(re.finditer(r"\d+", m.group()))
        for k in range(len(groups), 0, -1):
            end = m.start() + groups[k - 1].end()
            digits = re.sub(r"\D", "", text[m.start() : end])
            if len(digits) < 12:
                break
            if card_ok(digits):
                yield Span(m.start(), end, Kind.card)
                yield from _beside_card(text, m.start(), end)
                break


def _beside_card(text: str, start: int, end: int) -> Iterator[Span]:
    """The expiry date and CVV written beside a card number ``text[start:end]``: right
    after it (``4111… 12/27 123``, ``4111…, exp 12/27, cvv 123``), or, for an expiry with
    its word, within ``_EXPIRY_WINDOW`` characters on either side."""
    pos = end
    expiry = _EXPIRY_AFTER.match(text, pos, min(len(text), pos + 40))
    if expiry:
        yield Span(expiry.start("exp"), expiry.end("exp"), Kind.expiry)
        pos = expiry.end()
    after = _AFTER_CARD.match(text, pos, min(len(text), pos + 40))
    if after:
        yield Span(after.start(1), after.end(1), Kind.cvv)
        pos = after.end()
        if not expiry:
            expiry = _EXPIRY_AFTER.match(text, pos, min(len(text), pos + 40))
            if expiry:
                yield Span(expiry.start("exp"), expiry.end("exp"), Kind.expiry)
    lo, hi = max(0, start - _EXPIRY_WINDOW), min(len(text), end + _EXPIRY_WINDOW)
    for worded in _EXPIRY_WORDED.finditer(text, lo, hi):
        yield Span(worded.start("exp"), worded.end("exp"), Kind.expiry)


def find_cvvs(text: str) -> Iterator[Span]:
    for rx in (_CVV_AFTER_WORD, _CVV_BEFORE_WORD):
        for m in rx.finditer(text):
            yield Span(m.start(1), m.end(1), Kind.cvv)


def find_emails(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        yield Span(m.start(), m.end(), Kind.email)


def find_secrets(text: str) -> Iterator[Span]:
    for m in _SECRET_TOKENS.finditer(text):
        yield Span(m.start(), m.end(), Kind.secret)
    for m in _SECRET_VALUE.finditer(text):
        value = m.group("value")
        if value.startswith("["):
            continue  # already masked
        if m.group("sep").strip() in ("is", "was") and value.rstrip(".!?").isalpha():
            continue  # "my PIN was blocked": a word, not a value (after ':' or '=' any value counts)
        yield Span(m.start("value"), m.end("value"), Kind.secret)


def find_de_tax_ids(text: str) -> Iterator[Span]:
    if not _DE_TAX_CTX.search(text):
        return
    for m in _DE_TAX.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if _de_tax_ok(digits):
            yield Span(m.start(), m.end(), Kind.national_id)


def own_spans(text: str) -> list[Span]:
    spans: list[Span] = []
    for finder in (find_cards, find_cvvs, find_emails, find_secrets, find_de_tax_ids):
        spans.extend(finder(text))
    return spans
