"""Underspecified questions: ask one clarifying question instead of guessing.

Two deterministic signals (they work with a base model):

- a dangling reference — "this library", "that model", "the actor … he" — to something
  the conversation never named;
- a very short first question whose best passages come from different articles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.grounding import content_words
from core.types import Passage

_DEMONSTRATIVE = re.compile(r"\b(this|that|these|those)\s+([a-z][a-z'-]+)", re.IGNORECASE)
# "the actor", "the park": a category noun with the definite article names one of many.
_CATEGORY = re.compile(
    r"\bthe\s+(?:famous\s+|same\s+)?(actor|actress|singer|player|author|writer|book|novel|movie|film|show|series|"
    r"season|team|club|country|state|city|county|park|company|chain|restaurant|animal|breed|hurricane|storm|war|"
    r"president|department|court|loan|school|university|library|stadium|championship|language|"
    r"flag|song|album|band|game|tournament|character|artist|church|"
    r"museum|river|mountain|island|agency|law|bill|treaty|election|disease|drug|car|vehicle)\b(?!\s+(?:of|called|named)\b)",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(he|she|him|her|his|hers)\b", re.IGNORECASE)
_NOT_A_NOUN = frozenset(
    "is was are were will would can could should has have had does did do means mean one ones time times "
    "week weekend month year morning afternoon evening night way much many kind sort type point case "
    "and or but if the a an to of in on for with it i you we they be been being happen happened this that these "
    "those there here he she his her its our their your my some any all such same other "
    # verbs that follow "does that …" / "will this …"
    "take takes mean work works cost costs happen include apply matter help count say come go look sound need "
    "require last make get change affect cover covers stay seem feel fit show mean means sell ship arrive".split()
)


@dataclass(frozen=True)
class Clarification:
    kind: str  # reference | vague
    subject: str  # the noun we ask about ("library"); empty for vague
    options: tuple[str, ...] = ()  # article titles for vague questions


def _mentioned(word: str, history: str) -> bool:
    stem = word.lower().rstrip("s")
    return len(stem) >= 3 and stem in history.lower()


def dangling_reference(question: str, history: list[str]) -> str | None:
    """The noun of a 'this X' / 'he' reference nothing earlier explains, or None."""
    past = " ".join(history)
    for match in _DEMONSTRATIVE.finditer(question):
        noun = match.group(2).lower()
        if noun in _NOT_A_NOUN:
            continue
        phrase = noun
        if not _mentioned(noun, past):
            return phrase
    for match in _CATEGORY.finditer(question):
        noun = match.group(1).lower()
        if not _mentioned(noun, past):
            return noun
    if not history and _PRONOUN.search(question):
        return "person"
    return None


def needs_clarification(
    question: str, history: list[str], passages: list[Passage], *, vague_max_words: int = 1
) -> Clarification | None:
    noun = dangling_reference(question, history)
    if noun:
        return Clarification("reference", noun)
    if history or len(content_words(question)) > vague_max_words:
        return None
    titles: list[str] = []
    for p in passages:
        if p.title and p.title not in titles:
            titles.append(p.title)
    if len(titles) >= 2:
        return Clarification("vague", "", tuple(titles[:2]))
    return None
