"""Subject linking: KB articles about one named subject (a product, a venue) carry it as a
title prefix, ``"Subject: question"``. The copilot links the conversation to the subject
named most recently (by either side, as ASR-transcribed speech or chat) and keeps the
suggestions about that subject, so "what's the check-in time?" after "the Grant Hotel"
suggests the Grant Hotel's answer, not another hotel's.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.types import Turn

_TOKEN = re.compile(r"[a-z0-9]+")
_GENERIC = frozenset(
    "the a an and of at in on hotel restaurant guest house guesthouse bar cafe inn lodge b & "
    "museum park college church gallery theatre theater cinema pool club".split()
)


@dataclass(frozen=True)
class Subject:
    name: str
    tokens: tuple[str, ...]  # distinctive tokens (generic words removed unless nothing is left)


def subject_of(title: str) -> str | None:
    head, sep, _ = title.partition(": ")
    return head.strip() if sep and 2 <= len(head) <= 80 else None


_NUMBERS = frozenset("zero one two three four five six seven eight nine ten too".split())


def _words(name: str) -> list[str]:
    return [w for w in _TOKEN.findall(name.lower().replace("&", " and ")) if w not in _GENERIC and w not in _NUMBERS]


def _build(titles: list[str]) -> list[Subject]:
    """Subjects with their identifying words: words that few other subjects' names use and
    that are rare in the questions themselves (so 'good' in 'Good Hotel' does not count)."""
    names = sorted({s for t in titles if (s := subject_of(t))})
    questions = [t.partition(": ")[2].lower() for t in titles if subject_of(t)]
    name_df: dict[str, int] = {}
    for n in names:
        for w in set(_words(n)):
            name_df[w] = name_df.get(w, 0) + 1
    q_df: dict[str, int] = {}
    for q in questions:
        for w in set(_TOKEN.findall(q)):
            q_df[w] = q_df.get(w, 0) + 1
    limit = max(3, len(questions) // 200)
    out: list[Subject] = []
    for n in names:
        words = tuple(w for w in _words(n) if len(w) >= 3 and name_df.get(w, 0) <= 5 and q_df.get(w, 0) <= limit)
        if words:
            out.append(Subject(n, words))
    return out


class SubjectLinker:
    """Per tenant, the subjects found in article titles; built on first use from ``titles``."""

    def __init__(self, titles: Callable[[str], list[str]], *, refresh_s: float = 60.0) -> None:
        self.titles = titles
        self.refresh_s = refresh_s  # new articles are picked up within this time
        self._by_tenant: dict[str, tuple[float, list[Subject]]] = {}
        self._lock = threading.Lock()

    def subjects(self, tenant_id: str) -> list[Subject]:
        with self._lock:
            cached = self._by_tenant.get(tenant_id)
            if cached is None or time.monotonic() - cached[0] > self.refresh_s:
                cached = (time.monotonic(), _build(self.titles(tenant_id)))
                self._by_tenant[tenant_id] = cached
            return cached[1]

    def forget(self, tenant_id: str) -> None:
        with self._lock:
            self._by_tenant.pop(tenant_id, None)

    def link(self, tenant_id: str, turns: list[Turn]) -> Subject | None:
        """The subject whose distinctive words were said most recently (all of them, in order)."""
        subjects = self.subjects(tenant_id)
        if not subjects:
            return None
        words: list[str] = []
        turn_of: list[int] = []
        for i, t in enumerate(turns):
            for w in _TOKEN.findall(t.text.lower().replace("&", " and ")):
                words.append(w)
                turn_of.append(i)
        positions: dict[str, list[int]] = {}
        for i, w in enumerate(words):
            positions.setdefault(w, []).append(i)
        best: tuple[int, int, Subject] | None = None
        for s in subjects:
            first = positions.get(s.tokens[0])
            if not first:
                continue
            for start in reversed(first):
                end = start
                ok = True
                for tok in s.tokens[1:]:
                    nxt = [p for p in positions.get(tok, []) if end < p <= end + 4]
                    if not nxt:
                        ok = False
                        break
                    end = nxt[0]
                if ok:
                    key = (turn_of[end], sum(len(t) for t in s.tokens), s)
                    if best is None or key[:2] > best[:2]:
                        best = key
                    break
        return best[2] if best else None
