"""What must never reach a customer from a tenant's internal articles: their codes,
extensions and other internal-only numbers, hosts and e-mail domains, names, and
distinctive sentences. A suggested reply is checked against this fingerprint after the
output filter; a sentence that carries any of it is dropped from the reply.

Everything that also appears in a public article is public and never counts (the help
center may print the same phone number or domain).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.output_filter import foreign_hosts

__all__ = ["InternalFingerprint", "Leak"]

# A code: upper-case letters joined to letters or digits by '-' or '/' ("AB-CD-01", "X-28"),
# or letters and digits run together with at least one of each ("AB12").
_CODE = re.compile(
    r"(?<![\w-])(?:[A-Z][A-Z0-9]*(?:[-/][A-Z0-9]+)+|(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{3,})(?![\w-])"
)
_NUMBER = re.compile(r"(?<![\d.,])\d{3,}(?![\d])")  # 3+ digits: extensions, internal numbers
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+\b")  # "Acme Recoveries"
_WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")
RUN = 6  # a run of this many words that only internal articles contain is a distinctive sentence


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def _runs(text: str, n: int = RUN) -> set[tuple[str, ...]]:
    w = _words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


@dataclass(frozen=True)
class Leak:
    kind: str  # code | number | host | name | sentence
    value: str


@dataclass
class InternalFingerprint:
    codes: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    runs: set[tuple[str, ...]] = field(default_factory=set)

    @classmethod
    def build(cls, internal: Iterable[str], public: Iterable[str]) -> InternalFingerprint:
        """From the texts (titles and bodies) of the tenant's internal and public articles."""
        internal_text = "\n".join(internal)
        public_text = "\n".join(public)
        pub_codes = set(_CODE.findall(public_text))
        pub_numbers = set(_NUMBER.findall(public_text))
        pub_hosts = set(foreign_hosts(public_text, ()))
        pub_names = set(_NAME.findall(public_text))
        pub_runs = _runs(public_text)
        return cls(
            codes=set(_CODE.findall(internal_text)) - pub_codes,
            numbers=set(_NUMBER.findall(internal_text)) - pub_numbers,
            hosts=set(foreign_hosts(internal_text, ())) - pub_hosts,
            names=set(_NAME.findall(internal_text)) - pub_names,
            runs=_runs(internal_text) - pub_runs,
        )

    def __bool__(self) -> bool:
        return bool(self.codes or self.numbers or self.hosts or self.names or self.runs)

    def find(self, text: str) -> list[Leak]:
        """Everything internal-only in ``text`` (empty: safe to send as far as we know)."""
        found: list[Leak] = []
        found += [Leak("code", c) for c in set(_CODE.findall(text)) & self.codes]
        found += [Leak("number", n) for n in set(_NUMBER.findall(text)) & self.numbers]
        found += [Leak("host", h) for h in set(foreign_hosts(text, ())) & self.hosts]
        found += [Leak("name", n) for n in set(_NAME.findall(text)) & self.names]
        runs = _runs(text) & self.runs
        if runs:
            found.append(Leak("sentence", " ".join(sorted(runs)[0])))
        return found
