"""Fixes to ragas metrics for upstream bugs that change our numbers; drop each once ragas ships it.

Imported lazily by ``evals.metrics.text`` (after :func:`~evals.metrics.ragas_env.require_ragas`).
"""

from __future__ import annotations

from evals.metrics.ragas_env import require_ragas

require_ragas()  # telemetry off before ragas is first imported

from ragas.metrics.collections import BleuScore  # noqa: E402
from ragas.metrics.result import MetricResult  # noqa: E402


class FullTextBleuScore(BleuScore):
    """ragas ``BleuScore`` scoring the whole answer.

    ragas 0.4.3 splits both texts on ". " and hands sacrebleu one reference *stream* per reference
    sentence; sacrebleu zips hypotheses with the streams, so only the answer's first sentence is
    scored and the reference's sentences become alternatives for it (vibrantlabsai/ragas#2888,
    open; fix proposed in #2924/#2941). A bot answer is usually several sentences, so we score the
    full texts as one segment, as that fix does and as ragas' ``ChrfScore`` already does.
    """

    async def ascore(self, reference: str, response: str) -> MetricResult:
        from sacrebleu import corpus_bleu

        score = corpus_bleu([response], [[reference]], **self.kwargs).score / 100
        return MetricResult(value=float(score))
