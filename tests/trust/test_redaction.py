"""Redaction at the door: what an agent, the database, the index and the model see."""

from __future__ import annotations

import logging

import pytest

from core.redaction import KB_KINDS, Kind, RedactingFilter, Redactor, luhn_ok


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My card is 4111 1111 1111 1111, exp 12/27, cvv 123", "My card is [CARD ****1111], exp [EXPIRY], cvv [CVV]"),
        ("4111111111111111 12/27 123", "[CARD ****1111] [EXPIRY] [CVV]"),
        ("card 4111 1111 1111 1111 valid thru 01/2029", "card [CARD ****1111] valid thru [EXPIRY]"),
        ("expiry 12/27 for card 5555555555554444", "expiry [EXPIRY] for card [CARD ****4444]"),
        ("4111111111111111 cvv 123 exp 11/26", "[CARD ****1111] cvv [CVV] exp [EXPIRY]"),
        ("card 5555-5555-5555-4444 security code 987", "card [CARD ****4444] security code [CVV]"),
        ("pay with 4012888888881881 123 please", "pay with [CARD ****1881] [CVV] please"),
        ("amex 378282246310005 CID 1234", "amex [CARD ****0005] CID [CVV]"),
        ("IBAN DE89 3704 0044 0532 0130 00 for the refund", "IBAN [IBAN ****3000] for the refund"),
        ("iban de89 3704 0044 0532 0130 00 for the refund", "iban [IBAN ****3000] for the refund"),  # as typed
        ("my iban is gb82west12345698765432 ok", "my iban is [IBAN ****5432] ok"),
        ("mail jane.doe+x@example.co.uk", "mail [EMAIL]"),
        ("call me on +49 30 1234567", "call me on [PHONE ****4567]"),
        ("my number is 4155552671", "my number is [PHONE ****2671]"),
        ("reach me at (415) 555-2671", "reach me at [PHONE ****2671]"),
        ("call me at 415.555.2671", "call me at [PHONE ****2671]"),
        ("phone 030 1234567", "phone [PHONE ****4567]"),
        ("SSN 536-22-1234", "SSN [ID]"),
        ("NI number AB 12 34 56 C", "NI number [ID]"),
        ("mi DNI es 12345678Z", "mi DNI es [ID]"),
        ("Steuer-ID 86095742719", "Steuer-ID [ID]"),
        ("my password is hunter22!", "my password is [SECRET]"),
        ("key sk-proj-abcdefghijklmnopqrstuvwx works", "key [SECRET] works"),
    ],
)
def test_personal_data_is_replaced_with_typed_placeholders(redactor: Redactor, text: str, expected: str) -> None:
    assert redactor(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Where is my order ORD-10012? Tracking 43378851982073.",  # Luhn-valid parcel number, not a card shape
        "My card number 4111 1111 1111 1112 was declined",  # fails the Luhn check
        "I bought 3 items for 129 EUR on 12/03 and returns take 30 days.",
        "Is the code 1234 on the box the model number?",
        # amounts are not phone numbers (a decimal part, or a currency beside them)
        "I paid 164.50 EUR",
        "I paid 16450 EUR and 1.234,56 EUR",
        "charged $1,234.56 twice, refund of 2 450.00 SEK",
        "it cost 39.99",
        # an id written as one run of digits, nothing saying it is a phone number
        "can I change order 370795561790?",
        # a date on its own is not a card expiry
        "The offer is valid thru 12/27.",
    ],
)
def test_ordinary_customer_text_is_left_alone(redactor: Redactor, text: str) -> None:
    assert redactor(text) == text


def test_redacting_twice_changes_nothing(redactor: Redactor) -> None:
    once = redactor("card 4111111111111111 cvv 123, phone +49 30 1234567, a@b.de")
    assert redactor(once) == once


def test_counts_say_what_was_found(redactor: Redactor) -> None:
    result = redactor.redact("4111111111111111 cvv 123 and a@b.de")
    assert result.counts == {"CARD": 1, "CVV": 1, "EMAIL": 1}


def test_kb_uploads_keep_the_company_contact_details(redactor: Redactor) -> None:
    text = "Write to support@larkspur.example or call +49 30 5550 1234. Card 4111111111111111."
    out = redactor.redact(text, kinds=KB_KINDS).text
    assert "support@larkspur.example" in out and "+49 30 5550 1234" in out
    assert "[CARD ****1111]" in out and Kind.card in KB_KINDS


MIXED = [
    "Call +49 30 5550 1234 or pay with 4111 1111 1111 1111 exp 12/27, cvv 123; IBAN DE89 3704 0044 0532 0130 00.",
    "SSN 536-22-1234, phone (415) 555-2671, mail a@b.de, my password is hunter22!",
    "card 4111111111111111 4155552671 and 5555-5555-5555-4444 security code 987",
]


@pytest.mark.parametrize("kinds", [KB_KINDS, frozenset({Kind.card}), frozenset({Kind.email, Kind.card})])
def test_a_subset_of_kinds_masks_what_a_full_scan_would(redactor: Redactor, kinds: frozenset[Kind]) -> None:
    """Skipping the detectors of lower-ranked kinds (the output filter runs no phone
    recognizer) changes nothing for the kinds asked for."""
    for text in MIXED:
        full = [s for s in redactor.spans(text) if s.kind in kinds]
        assert [s for s in redactor.spans(text, kinds) if s.kind in kinds] == full
    assert redactor.spans("call +49 30 5550 1234", KB_KINDS) == []
    assert [s.kind for s in redactor.spans("call +49 30 5550 1234")] == [Kind.phone]


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")


def test_log_filter_redacts_messages_and_arguments(redactor: Redactor, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("switchboard.test.redaction")
    logger.addFilter(RedactingFilter(redactor))
    with caplog.at_level(logging.INFO, logger="switchboard.test.redaction"):
        logger.info("customer said %s", "my card is 4111 1111 1111 1111 cvv 123")
    assert "4111" not in caplog.text
    assert "[CARD ****1111]" in caplog.text and "[CVV]" in caplog.text


def test_texts_with_too_few_digits_skip_the_recognizers_and_lose_nothing() -> None:
    """The digit pre-check finds what the recognizers find on every text (the same spans with
    and without it), and never calls them on a text with fewer digits than any id has."""
    import phonenumbers

    from core.redaction.presidio import MIN_DIGITS, PresidioDetector

    # An IBAN's two check digits (some countries' account parts are all letters) are the floor:
    # no region's phone numbers are shorter (phonenumbers' metadata, every region and type).
    assert MIN_DIGITS == 2
    shortest_phone = min(
        n
        for region in phonenumbers.SUPPORTED_REGIONS
        for desc in vars(phonenumbers.PhoneMetadata.metadata_for_region(region)).values()
        if isinstance(desc, phonenumbers.phonemetadata.PhoneNumberDesc)
        for n in desc.possible_length or ()
        if n > 0
    )
    assert shortest_phone >= MIN_DIGITS
    checked, unchecked = PresidioDetector(), PresidioDetector()
    unchecked.min_digits = 0
    texts = [
        "call me on +49 30 1234567",
        "phone 030 1234567 or 4155552671",
        "NI number AB 12 34 56 C and SSN 536-22-1234",
        "mi DNI es 12345678Z, NIE X1234567L",
        "IBAN DE89 3704 0044 0532 0130 00",
        "card 4111 1111 1111 1111",
        "Steuer-ID 86095742719",
        "Ruf 1234 an",
        "How long do I have to return an item?",
        "order 12 of 3 items, room 101",
    ]
    for text in texts:
        assert checked.spans(text) == unchecked.spans(text), text

    def boom(*args: object, **kwargs: object) -> list[object]:
        raise AssertionError("a recognizer ran on a text without enough digits")

    for rec in checked.recognizers:
        rec.analyze = boom
    assert checked.spans("Where is my parcel? It's been 3 days.") == []  # one digit: skipped
    with pytest.raises(AssertionError, match="a recognizer ran"):
        checked.spans("IBAN GB29 NWBK")  # two: the recognizers run


def test_a_recognizer_is_skipped_only_where_its_id_cannot_be() -> None:
    """The per-recognizer pre-checks (``MIN_DIGIT_RUN``, an IBAN's start) lose nothing: on
    thousands of seeded texts of digit groups, separators and letters, and on answers as the
    bot writes them, the spans are the same with and without them; and an answer with only
    dates and amounts calls none of the id recognizers."""
    import random

    from core.redaction.presidio import PresidioDetector, digit_run

    checked, unchecked = PresidioDetector(), PresidioDetector()
    unchecked.prechecks = False
    rng = random.Random(16)
    seps = ["", " ", "-", ".", "  ", "/", " - ", "(", ")", "+"]
    words = ["card", "IBAN", "de", "GB", "X", "Z", "AB", "c", "ssn", "tel", "€", "Nr."]
    texts = [
        "Your order ORD-10036 shipped on Tuesday 17 November 2026; total €129.00.",
        "Refunds take 5-10 working days (up to 14 in December).",
        "GB82 WEST 1234 5698 7654 32",
        "gb82west12345698765432",
        "x1234567l and 12345678-z",
        "536 22 1234 / 536.22.1234 / 53622 1234",
        "ab 12 34 56 c",
        "NIE X1234567L",  # each id alone, at the shortest its pattern takes
        "card 4222222222222",
        "card 4222 2222 22222",
        "SSN 536221234",
        "DNI 12345678Z",
        "DNI 1234567L",  # a NIF of seven digits (no leading zero): its pattern is [0-9]?[0-9]{7}
        "Steuer-ID 86095742719",
        "NI AB123456C",
    ]
    for _ in range(3000):
        parts: list[str] = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.6:
                parts.append("".join(rng.choice("0123456789") for _ in range(rng.randint(1, 8))))
            else:
                parts.append(rng.choice(words))
            parts.append(rng.choice(seps))
        texts.append("".join(parts))
    for text in texts:
        assert checked.spans(text) == unchecked.spans(text), text

    calls: list[str] = []
    for rec in checked.recognizers:
        original = rec.analyze
        rec.analyze = lambda *a, _o=original, _n=type(rec).__name__, **k: calls.append(_n) or _o(*a, **k)
    answer = "It was delivered on Friday 25 September 2026 and the refund of €79.00 followed 3 days later."
    assert digit_run(answer) == 4
    checked.spans(answer)
    assert calls == ["PhoneRecognizer"]  # no id of the others fits in four digits in a row


def test_a_nif_of_seven_digits_is_found_with_the_prechecks() -> None:
    """A DNI below ten million is often written without its leading zero ("1234567L"):
    Presidio's NIF pattern takes seven digits, so the pre-check must too."""
    from core.redaction.presidio import PresidioDetector

    for text in ("Mi DNI es 1234567L, gracias", "dni 7654321-j"):
        assert [s.kind for s in PresidioDetector().spans(text)] == [Kind.national_id], text
