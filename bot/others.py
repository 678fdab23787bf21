"""Other people's data: a request about someone else's account is declined.

"How much does my ex-partner owe?", "what's my neighbour's Direct Debit?", "is the previous
tenant still with you?": the bot can only discuss the signed-in customer's own account, so it
declines without confirming anything about the other person — not whether they are a customer,
not their balance, contact details, address or status — and offers public help pages.

Detection is grammatical, not a list of one company's words: a **third party** (another person
named by a role — neighbour, ex-partner, previous occupant, a relative — or by their name, or
"he/she/they") combined with an **ask for their account data** (their balance, bill, payments,
tariff, phone number, e-mail, address, usage; what they owe or pay; whether they are a customer).
Mentioning someone is not enough: "my husband and I want a joint account", "he already has a
contract elsewhere" and an executor's question about the estate are answered normally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.triggers import plain

_ROLE = (
    r"(?:ex|ex-?(?:partner|wife|husband|boyfriend|girlfriend|spouse|flatmate|housemate|tenant|landlord)|"
    r"(?:former|previous|old|last|prior|next-door|upstairs|downstairs)\s+(?:\w+\s+)?"
    r"(?:partner|wife|husband|occupants?|occupiers?|tenants?|owners?|residents?|neighbou?rs?|landlord|flatmates?)|"
    r"neighbou?rs?|flatmates?|housemates?|roommates?|lodgers?|landlord|landlady|tenants?|occupants?|occupiers?|"
    r"partner|wife|husband|boyfriend|girlfriend|spouse|mum|mom|mother|dad|father|son|daughter|brother|sister|"
    r"friend|colleague|boss|grand\w+|uncle|aunt|cousin|in-laws?|\w+-in-law)"
)
_THIRD_PARTY = re.compile(
    r"\b(?:my|our|the|a|this|that)\s+" + _ROLE + r"\b"
    r"|\b(?:the )?(?:person|people|family|man|woman|couple|guy|lady) (?:who|that) (?:lived|live|lives|was living|"
    r"used to live|rented|owned|moved|was here|were here)\b"
    r"|\b(?:someone|somebody) else(?:'s)?\b",
    re.IGNORECASE,
)
# Two capitalised words not at the start of a sentence: a person's name ("Ada Lovell").
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:[-'][A-Z][a-z]+)?)\s+([A-Z][a-z]+(?:[-'][A-Z][a-z]+)?)\b")
_DATA = (
    r"(?:balance|bills?|debts?|arrears|direct debits?|payments?|instalments?|tariff|rates?|prices?|"
    r"account (?:number|details|balance|status|info(?:rmation)?)|details|phone(?: number)?|mobile(?: number)?|"
    r"(?:new |current )?numbers?|e-?mail(?: address)?|(?:new |current |forwarding )?address|contact details|"
    r"usage|consumption|readings?|meter readings?|plan|contract|passwords?|date of birth|bank details|statements?)"
)
_THEIR = r"(?:his|her|their|hers|theirs)"
_SUBJECT = r"(?:he|she|they|him|her|them|(?:my|our|the|this|that)\s+" + _ROLE + r"|[A-Z][a-z]+\s+[A-Z][a-z]+)"
_ASKS = re.compile(
    # "how much she owes", "what does my ex pay", "what tariff my neighbour is on"
    r"\b(?:how much|what)\b[\w' ]{0,25}\b" + _SUBJECT + r"\b[\w' ]{0,10}\b(?:owes?|owed|pays?|paying|"
    r"paid|spends?|spent|is charged|gets charged|is on|(?:is|are) paying|uses?|using)\b"
    r"|\b" + _SUBJECT + r"\s+(?:still\s+)?(?:owes?|owed)\b"
    r"|\b(?:how much|what)\b[\w' ]{0,25}\b" + _THEIR + r"\s+(?:\w+\s+){0,2}" + _DATA + r"\b"
    # "tell me her new mobile number", "give me his address", "check their balance"
    r"|\b(?:tell|give|send|show|share|confirm|check|look up|find|let me (?:know|see|have)|access|see|get)\b"
    r"[\w' ]{0,20}\b" + _THEIR + r"\s+(?:\w+\s+){0,2}" + _DATA + r"\b"
    r"|\b" + _THEIR + r"\s+(?:\w+\s+){0,2}" + _DATA + r"\s+(?:is|are|was)\b[\w' ]{0,10}\?"
    # "is she a customer", "is the previous occupant still with you"
    r"|\b(?:is|are|was|were)\s+" + _SUBJECT + r"\s+(?:still\s+|also\s+)?"
    r"(?:a customer|customers|with you|on your books|registered|signed up|on supply|a member|your customer)\b"
    r"|\b(?:where|whether)\s+(?:did|does|has|have)?\s*"
    + _SUBJECT
    + r"\s+(?:lives?|live|moved?|has moved|is living|went|go)\b",
    re.IGNORECASE,
)
# A question about someone's account data where the owner is named with a possessive ("Ada's balance").
_POSSESSIVE_ASK = re.compile(r"\b[A-Z][a-z]+(?:'s)\s+(?:\w+\s+){0,2}" + _DATA + r"\b")


@dataclass(frozen=True)
class OtherPerson:
    """Why the message reads as a request for another person's data (for the audit note)."""

    who: str  # the role or "a named person" (never the name itself)
    ask: str


def other_persons_data(text: str) -> OtherPerson | None:
    """A request for another person's account data in ``text``, or None."""
    text = plain(text)
    ask = _ASKS.search(text) or _POSSESSIVE_ASK.search(text)
    if ask is None:
        return None
    third = _THIRD_PARTY.search(text)
    if third is not None:
        return OtherPerson(third.group(0).lower(), ask.group(0))
    if _NAME.search(text) or _POSSESSIVE_ASK.search(text):
        return OtherPerson("a named person", ask.group(0))
    if re.search(r"\b(?:he|she|they|him|her|them|his|hers|their)\b", ask.group(0), re.IGNORECASE):
        return OtherPerson("another person", ask.group(0))
    return None


__all__ = ["OtherPerson", "other_persons_data"]
