"""Answer metrics that need no judge model: ragas' own non-LLM metrics, plus token F1.

``string_similarity`` is ragas ``NonLLMStringSimilarity`` (1 - normalised Levenshtein distance),
``bleu`` is ragas ``BleuScore`` (sacrebleu corpus BLEU; with ragas' first-sentence-only bug fixed,
see ``evals.metrics.ragas_fixes``),
``rouge_l`` is ragas ``RougeScore`` (ROUGE-L F-measure, stemmed), ``context_precision`` is
``NonLLMContextPrecisionWithReference`` and ``context_recall`` is ``NonLLMContextRecall`` (a context
matches a reference context when their string similarity is >= 0.5). ``token_f1`` is ours (SQuAD-style).

ragas is imported on first use (it takes seconds), and each metric object is built once per process.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evals.metrics.ragas_env import require_ragas, run_sync

if TYPE_CHECKING:
    from ragas.metrics._context_precision import NonLLMContextPrecisionWithReference
    from ragas.metrics._context_recall import NonLLMContextRecall
    from ragas.metrics.collections import NonLLMStringSimilarity, RougeScore

    from evals.metrics.ragas_fixes import FullTextBleuScore

_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class _Metrics:
    similarity: NonLLMStringSimilarity
    bleu: FullTextBleuScore
    rouge_l: RougeScore
    context_precision: NonLLMContextPrecisionWithReference
    context_recall: NonLLMContextRecall


_lock = threading.Lock()
_built: _Metrics | None = None


def _metrics() -> _Metrics:
    global _built
    if _built is None:
        with _lock:
            if _built is None:
                require_ragas()
                from ragas.metrics._context_precision import NonLLMContextPrecisionWithReference
                from ragas.metrics._context_recall import NonLLMContextRecall
                from ragas.metrics.collections import NonLLMStringSimilarity, RougeScore

                from evals.metrics.ragas_fixes import FullTextBleuScore

                _built = _Metrics(
                    similarity=NonLLMStringSimilarity(),
                    bleu=FullTextBleuScore(),
                    rouge_l=RougeScore(rouge_type="rougeL", mode="fmeasure"),
                    context_precision=NonLLMContextPrecisionWithReference(),
                    context_recall=NonLLMContextRecall(),
                )
    return _built


def _unit(value: float) -> float:
    """Clamp to [0, 1]: sacrebleu's arithmetic can land a hair above 1 for identical texts."""
    return min(1.0, max(0.0, float(value)))


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def string_similarity(candidate: str, reference: str) -> float:
    """ragas NonLLMStringSimilarity (Levenshtein): 1 - normalised edit distance."""
    return _unit(run_sync(_metrics().similarity.ascore(reference=reference, response=candidate)).value)


def bleu(candidate: str, reference: str) -> float:
    """ragas BleuScore (sacrebleu BLEU of the whole answer against the whole reference), 0..1."""
    return _unit(run_sync(_metrics().bleu.ascore(reference=reference, response=candidate)).value)


def rouge_l(candidate: str, reference: str) -> float:
    """ragas RougeScore: ROUGE-L F-measure with Porter stemming."""
    return _unit(run_sync(_metrics().rouge_l.ascore(reference=reference, response=candidate)).value)


def token_f1(candidate: str, reference: str) -> float:
    """F1 of the bag of lower-cased word tokens (SQuAD-style; not a ragas metric)."""
    cand, ref = Counter(tokens(candidate)), Counter(tokens(reference))
    overlap = sum((cand & ref).values())
    if overlap == 0:
        return 0.0
    p, r = overlap / sum(cand.values()), overlap / sum(ref.values())
    return 2 * p * r / (p + r)


def _contexts_score(
    metric: NonLLMContextPrecisionWithReference | NonLLMContextRecall,
    retrieved: Sequence[str],
    references: Sequence[str],
) -> float:
    if not retrieved or not references:
        return 0.0
    from ragas.dataset_schema import SingleTurnSample

    sample = SingleTurnSample(retrieved_contexts=list(retrieved), reference_contexts=list(references))
    return _unit(metric.single_turn_score(sample))


def context_precision(retrieved: Sequence[str], references: Sequence[str]) -> float:
    """ragas NonLLMContextPrecisionWithReference: average precision of the retrieved contexts, a
    context being relevant when it matches a reference context. 0 when either list is empty."""
    return _contexts_score(_metrics().context_precision, retrieved, references)


def context_recall(retrieved: Sequence[str], references: Sequence[str]) -> float:
    """ragas NonLLMContextRecall: share of reference contexts matched by some retrieved context.
    0 when either list is empty."""
    return _contexts_score(_metrics().context_recall, retrieved, references)
