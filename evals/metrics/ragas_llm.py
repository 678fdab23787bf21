"""ragas' LLM metrics wired to a judge model behind an OpenAI-compatible endpoint.

Imported lazily by ``evals.judge`` (ragas, openai and instructor take seconds to import). The
judge LLM is ragas' ``llm_factory`` over an ``AsyncOpenAI`` client (instructor, JSON mode);
answer relevancy embeds with our own ``Embedder`` (the bundled MiniLM by default), so nothing
is downloaded at run time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from evals.metrics.ragas_env import require_ragas

require_ragas()  # telemetry off before ragas is first imported

import httpx  # noqa: E402
import openai  # noqa: E402
import pydantic  # noqa: E402
from instructor.exceptions import IncompleteOutputException  # noqa: E402
from instructor.retry import InstructorRetryException  # noqa: E402
from ragas.embeddings.base import BaseRagasEmbedding  # noqa: E402
from ragas.llms.base import InstructorBaseRagasLLM, llm_factory  # noqa: E402
from ragas.metrics.collections import (  # noqa: E402
    AnswerRelevancy,
    ContextPrecisionWithoutReference,
    ContextPrecisionWithReference,
    ContextRecall,
    Faithfulness,
)
from ragas.metrics.result import MetricResult  # noqa: E402

from core.errors import UpstreamError  # noqa: E402
from core.models.embed import Embedder  # noqa: E402

# What a judge that is down, slow or talking nonsense raises: the metric gets no score.
JUDGE_FAILURES: tuple[type[BaseException], ...] = (
    openai.OpenAIError,  # connection errors, timeouts, HTTP error statuses
    httpx.HTTPError,
    InstructorRetryException,  # output that does not parse into the schema
    IncompleteOutputException,  # cut off at max_tokens
    pydantic.ValidationError,
    json.JSONDecodeError,
    TimeoutError,
    UpstreamError,  # our embedder failed
)

Job = Callable[[], Awaitable[MetricResult]]


class EmbedderForRagas(BaseRagasEmbedding):
    """Our ``Embedder`` seam behind ragas' embeddings interface (answer relevancy compares the
    question with questions the judge generates from the answer)."""

    def __init__(self, embedder: Embedder) -> None:
        super().__init__()
        self.embedder = embedder

    def embed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        return [[float(x) for x in row] for row in self.embedder.embed(list(texts))]

    def embed_text(self, text: str, **kwargs: Any) -> list[float]:
        return self.embed_texts([text])[0]

    async def aembed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_texts, list(texts))

    async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
        return (await self.aembed_texts([text]))[0]


def judge_client(
    base_url: str,
    api_key: str,
    timeout_s: float,
    max_retries: int,
    transport: httpx.AsyncBaseTransport | None,
) -> openai.AsyncOpenAI:
    http_client = httpx.AsyncClient(transport=transport, timeout=timeout_s) if transport is not None else None
    return openai.AsyncOpenAI(
        base_url=base_url,
        api_key=api_key or "not-needed",  # local servers ignore it; the client refuses an empty key
        timeout=timeout_s,
        max_retries=max_retries,
        http_client=http_client,
    )


class RagasMetrics:
    """One instance of each ragas LLM metric, sharing one judge LLM."""

    def __init__(self, llm: InstructorBaseRagasLLM, embeddings: BaseRagasEmbedding, strictness: int) -> None:
        self.faithfulness = Faithfulness(llm=llm)
        self.answer_relevancy = AnswerRelevancy(llm=llm, embeddings=embeddings, strictness=strictness)
        self.precision_with_reference = ContextPrecisionWithReference(llm=llm)
        self.precision_without_reference = ContextPrecisionWithoutReference(llm=llm)
        self.recall = ContextRecall(llm=llm)

    @classmethod
    def build(cls, client: openai.AsyncOpenAI, model: str, embedder: Embedder, strictness: int) -> RagasMetrics:
        return cls(llm_factory(model, client=client), EmbedderForRagas(embedder), strictness)

    def jobs(self, question: str, answer: str, contexts: Sequence[str], reference: str | None) -> dict[str, Job]:
        """The metrics that apply: those over contexts need some, context recall needs a reference;
        context precision uses the reference when there is one, else the answer."""
        ctx = list(contexts)
        jobs: dict[str, Job] = {
            "answer_relevancy": lambda: self.answer_relevancy.ascore(user_input=question, response=answer)
        }
        if ctx:
            jobs["faithfulness"] = lambda: self.faithfulness.ascore(
                user_input=question, response=answer, retrieved_contexts=ctx
            )
            if reference:
                jobs["context_precision"] = lambda: self.precision_with_reference.ascore(
                    user_input=question, reference=reference, retrieved_contexts=ctx
                )
                jobs["context_recall"] = lambda: self.recall.ascore(
                    user_input=question, retrieved_contexts=ctx, reference=reference
                )
            else:
                jobs["context_precision"] = lambda: self.precision_without_reference.ascore(
                    user_input=question, response=answer, retrieved_contexts=ctx
                )
        return jobs
