"""Answer metrics that need no judge model.

These are equivalents of ragas' non-LLM metrics (ragas itself does not install next to our
pinned dependencies; see docs/evals.md): ``NonLLMStringSimilarity`` (normalised Levenshtein
similarity, via rapidfuzz as ragas uses), ``BleuScore``, ``RougeScore`` (ROUGE-L F),
``NonLLMContextPrecisionWithReference`` and ``NonLLMContextRecall`` (contexts matched by string
similarity >= 0.5, as in ragas).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

from copilot.rouge import lcs_length

_TOKEN = re.compile(r"[a-z0-9]+")
CONTEXT_MATCH = 0.5


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def string_similarity(a: str, b: str) -> float:
    """1 - normalised Levenshtein distance (ragas NonLLMStringSimilarity, levenshtein)."""
    if not a and not b:
        return 1.0
    return float(Levenshtein.normalized_similarity(a, b))


def bleu(candidate: str, reference: str, max_n: int = 4) -> float:
    """Sentence BLEU with add-one smoothing for n > 1 (Lin & Och 2004), brevity penalty included."""
    cand, ref = tokens(candidate), tokens(reference)
    if not cand or not ref:
        return 0.0
    logs = 0.0
    for n in range(1, max_n + 1):
        c = Counter(tuple(cand[i : i + n]) for i in range(len(cand) - n + 1))
        r = Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
        overlap = sum((c & r).values())
        total = max(sum(c.values()), 0)
        if n == 1:
            if overlap == 0:
                return 0.0
            logs += math.log(overlap / total)
        else:
            logs += math.log((overlap + 1) / (total + 1))
    bp = 1.0 if len(cand) > len(ref) else math.exp(1 - len(ref) / len(cand))
    return bp * math.exp(logs / max_n)



def rouge_l(candidate: str, reference: str) -> float:
    cand, ref = tokens(candidate), tokens(reference)
    lcs = lcs_length(list(cand), list(ref))
    if lcs == 0:
        return 0.0
    p, r = lcs / len(cand), lcs / len(ref)
    return 2 * p * r / (p + r)


def token_f1(candidate: str, reference: str) -> float:
    cand, ref = Counter(tokens(candidate)), Counter(tokens(reference))
    overlap = sum((cand & ref).values())
    if overlap == 0:
        return 0.0
    p, r = overlap / sum(cand.values()), overlap / sum(ref.values())
    return 2 * p * r / (p + r)


def _matches(context: str, references: Sequence[str]) -> bool:
    return any(string_similarity(context[:2000], ref[:2000]) >= CONTEXT_MATCH for ref in references)


def context_precision(retrieved: Sequence[str], references: Sequence[str]) -> float:
    """Average precision of the retrieved contexts, a context being relevant when it matches a
    reference context (ragas NonLLMContextPrecisionWithReference)."""
    if not retrieved or not references:
        return 0.0
    verdicts = [_matches(c, references) for c in retrieved]
    hits, total = 0, 0.0
    for i, ok in enumerate(verdicts, start=1):
        if ok:
            hits += 1
            total += hits / i
    return total / hits if hits else 0.0


def context_recall(retrieved: Sequence[str], references: Sequence[str]) -> float:
    """Share of reference contexts matched by some retrieved context (ragas NonLLMContextRecall)."""
    if not references:
        return 0.0
    return sum(1 for ref in references if _matches(ref, retrieved)) / len(references)
