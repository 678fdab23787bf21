"""LLM-judged answer metrics (ragas-style faithfulness, answer relevancy, context precision and
recall), only when a judge model is configured: ``SWITCHBOARD_JUDGE_BASE_URL`` (any
OpenAI-compatible endpoint), ``SWITCHBOARD_JUDGE_MODEL``, ``SWITCHBOARD_JUDGE_API_KEY``.

The bundled base model is never used as a judge: it cannot follow grading instructions.
"""

from __future__ import annotations

import re

from core.errors import UpstreamError
from core.models.chat import ChatModel, GenerationParams
from core.models.openai_compat import OpenAICompatibleChatModel
from core.settings import Settings
from prompts.loader import PromptLoader

_SCORE = re.compile(r"score\s*[:=]\s*([01](?:\.\d+)?)", re.IGNORECASE)

METRICS: dict[str, str] = {
    "faithfulness": "What share of the claims in the answer is supported by the contexts? "
    "1 = every claim is supported, 0 = none is.",
    "answer_relevancy": "How directly and completely does the answer address the question? "
    "1 = fully, 0 = not at all. Ignore whether it is true.",
    "context_precision": "What share of the contexts is useful for answering the question, "
    "weighting the first contexts most? 1 = all useful, 0 = none.",
    "context_recall": "What share of the statements in the reference answer can be found in the contexts? "
    "1 = all, 0 = none.",
}


class Judge:
    def __init__(self, chat: ChatModel, prompts: PromptLoader | None = None, max_tokens: int = 16) -> None:
        self.chat = chat
        self.prompts = prompts or PromptLoader()
        self.params = GenerationParams(max_tokens=max_tokens, temperature=0.0, timeout_s=60.0)

    @classmethod
    def from_settings(cls, settings: Settings) -> Judge | None:
        if not settings.judge_base_url:
            return None
        chat = OpenAICompatibleChatModel(
            settings.judge_base_url,
            settings.judge_model,
            api_key=settings.judge_api_key.get_secret_value(),
            timeout_s=settings.judge_timeout_s,
        )
        return cls(chat)

    def score(
        self, metric: str, question: str, answer: str, contexts: list[str], reference: str | None
    ) -> float | None:
        """0..1, or None when the judge gave no readable score (or is down)."""
        prompt = self.prompts.render(
            "eval_judge",
            metric=metric.replace("_", " "),
            instructions=METRICS[metric],
            contexts=[c[:1200] for c in contexts[:4]],
            question=question,
            answer=answer,
            reference=reference or "",
        )
        try:
            text = self.chat.complete(prompt, self.params).text
        except UpstreamError:
            return None
        m = _SCORE.search(text)
        return min(1.0, float(m.group(1))) if m else None

    def score_all(self, question: str, answer: str, contexts: list[str], reference: str | None) -> dict[str, float]:
        out: dict[str, float] = {}
        for metric in METRICS:
            if metric == "context_recall" and not reference:
                continue
            value = self.score(metric, question, answer, contexts, reference)
            if value is not None:
                out[f"judge.{metric}"] = value
        return out

    def describe(self) -> dict[str, object]:
        return {"judge": self.chat.describe(), "prompt": self.prompts.digest("eval_judge")}
