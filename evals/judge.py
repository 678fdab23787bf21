"""LLM-judged answer metrics: ragas' faithfulness, answer relevancy, context precision and context
recall, scored by a judge model behind any OpenAI-compatible endpoint. Only when one is configured:
``SWITCHBOARD_JUDGE_BASE_URL``, ``SWITCHBOARD_JUDGE_MODEL``, ``SWITCHBOARD_JUDGE_API_KEY``,
``SWITCHBOARD_JUDGE_TIMEOUT_S``.

A judge that is down, slow or answers with something that does not parse gives no score for that
metric (the case still runs); failures are counted per metric and recorded by :meth:`Judge.describe`.
The bundled base model is never used as a judge: it cannot follow grading instructions.

ragas, openai and instructor are imported on first use, in :mod:`evals.metrics.ragas_llm`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from core.errors import ConfigurationError
from core.models.chat import LiveModelGuard
from core.models.embed import EMBEDDERS, Embedder, MiniLMEmbedder
from core.settings import Settings
from evals.metrics.ragas_env import ragas_version

if TYPE_CHECKING:
    import openai

    from evals.metrics.ragas_llm import RagasMetrics

log = logging.getLogger(__name__)


@dataclass
class _Running:
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    client: openai.AsyncOpenAI
    metrics: RagasMetrics
    failures: tuple[type[BaseException], ...]


class Judge:
    """ragas' LLM metrics over one judge model.

    ``score_all`` may be called from several threads (the runner's workers): every request runs
    on one event loop owned by the judge, in a background thread started on first use.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "",
        timeout_s: float = 60.0,
        embedder: Embedder | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 1,
        relevancy_strictness: int = 3,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"SWITCHBOARD_JUDGE_BASE_URL must be an http(s) URL, got {base_url!r}")
        if not model:
            raise ConfigurationError("SWITCHBOARD_JUDGE_MODEL must name the judge model")
        if timeout_s <= 0:
            raise ConfigurationError("SWITCHBOARD_JUDGE_TIMEOUT_S must be positive")
        if max_retries < 0 or relevancy_strictness < 1:
            raise ConfigurationError("max_retries must be >= 0 and relevancy_strictness >= 1")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.relevancy_strictness = relevancy_strictness
        self.embedder = embedder or MiniLMEmbedder()
        self.errors: Counter[str] = Counter()  # metric -> calls that gave no score because the judge failed
        self._api_key = api_key
        self._transport = transport
        self._running: _Running | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Judge | None:
        if not settings.judge_base_url:
            return None
        return cls(
            settings.judge_base_url,
            settings.judge_model,
            api_key=settings.judge_api_key.get_secret_value(),
            timeout_s=settings.judge_timeout_s,
            embedder=EMBEDDERS.create(settings.embedder_backend, settings),
        )

    def _start(self) -> _Running:
        if self._running is None:
            with self._lock:
                if self._running is None:
                    if self._transport is None:
                        LiveModelGuard.check("judge")
                    from evals.metrics.ragas_llm import JUDGE_FAILURES, RagasMetrics, judge_client

                    client = judge_client(
                        self.base_url, self._api_key, self.timeout_s, self.max_retries, self._transport
                    )
                    metrics = RagasMetrics.build(client, self.model, self.embedder, self.relevancy_strictness)
                    loop = asyncio.new_event_loop()
                    thread = threading.Thread(target=loop.run_forever, name="eval-judge", daemon=True)
                    thread.start()
                    self._running = _Running(loop, thread, client, metrics, JUDGE_FAILURES)
        return self._running

    def score_all(self, question: str, answer: str, contexts: Sequence[str], reference: str | None) -> dict[str, float]:
        """``judge.<metric>`` -> 0..1 for every metric that applies and that the judge could score.

        Faithfulness and context precision need contexts; context recall also needs a reference
        answer; context precision judges against the reference when there is one, else the answer."""
        running = self._start()
        future = asyncio.run_coroutine_threadsafe(
            self._score(running, question, answer, contexts, reference), running.loop
        )
        return future.result()

    async def _score(
        self, running: _Running, question: str, answer: str, contexts: Sequence[str], reference: str | None
    ) -> dict[str, float]:
        jobs = running.metrics.jobs(question, answer, contexts, reference)
        results = await asyncio.gather(*(job() for job in jobs.values()), return_exceptions=True)
        out: dict[str, float] = {}
        for name, result in zip(jobs, results, strict=True):
            if isinstance(result, running.failures):
                self._failed(name, result)
            elif isinstance(result, BaseException):
                raise result  # a bug, not a judge failure: the case is reported as an error
            elif result.value is not None and not math.isnan(float(result.value)):
                out[f"judge.{name}"] = min(1.0, max(0.0, float(result.value)))
            # NaN: ragas found nothing to judge (e.g. no statements in the answer): no score
        return out

    def _failed(self, metric: str, exc: BaseException) -> None:
        self.errors[metric] += 1
        level = logging.WARNING if self.errors[metric] == 1 else logging.DEBUG
        log.log(
            level,
            "judge gave no %s score (%s: %s); later failures are logged at debug level",
            metric,
            type(exc).__name__,
            exc,
        )

    def describe(self) -> dict[str, object]:
        url = httpx.URL(self.base_url)
        return {
            "library": f"ragas {ragas_version()}",
            "metrics": {
                "faithfulness": "Faithfulness",
                "answer_relevancy": f"AnswerRelevancy(strictness={self.relevancy_strictness})",
                "context_precision": "ContextPrecisionWithReference, or WithoutReference when no reference answer",
                "context_recall": "ContextRecall (with a reference answer)",
            },
            "model": self.model,
            "base_url": str(url.copy_with(username=None, password=None, query=None)),
            "timeout_s": self.timeout_s,
            "answer_relevancy_embedder": self.embedder.describe(),
            "errors": dict(self.errors),
        }

    def close(self) -> None:
        running, self._running = self._running, None
        if running is None:
            return
        asyncio.run_coroutine_threadsafe(running.client.close(), running.loop).result()
        running.loop.call_soon_threadsafe(running.loop.stop)
        running.thread.join()
        running.loop.close()
