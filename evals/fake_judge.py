"""A scripted judge model for tests: an ``httpx`` transport that speaks the OpenAI chat-completions
API and answers ragas' structured-output requests with valid JSON for the schema asked for.

ragas builds its judge with instructor in JSON mode: each request carries the output model's JSON
schema in its messages (and, in tools mode, names it in ``tools``). The fake reads the schema's
title and the prompt's ``input: {...}`` block and answers with the verdicts it was told to give::

    judge = Judge("http://judge.test/v1", "fake", transport=FakeJudge(supported=False).transport())
    judge.score_all("How long?", "30 days.", ["Returns within 30 days."], None)["judge.faithfulness"]  # 0.0
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE.split(text)) if s]


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object embedded in ``text`` (outermost only)."""
    decoder, out, i = json.JSONDecoder(), [], text.find("{")
    while i != -1:
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            i = text.find("{", i + 1)
            continue
        if isinstance(value, dict):
            out.append(value)
        i = text.find("{", end)
    return out


@dataclass
class FakeJudge:
    """Verdicts to give: ``supported`` (faithfulness NLI), ``useful`` (context precision),
    ``attributed`` (context recall), ``question`` and ``noncommittal`` (answer relevancy: the
    question the judge "reads" from the answer). ``down`` raises ``httpx.ConnectError``;
    ``garbage`` answers with text that is not JSON. ``calls`` counts requests per schema."""

    supported: bool = True
    useful: bool = True
    attributed: bool = True
    question: str = "What is the answer?"
    noncommittal: bool = False
    down: bool = False
    garbage: bool = False
    calls: Counter[str] = field(default_factory=Counter)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("judge unreachable (FakeJudge.down)", request=request)
        body = json.loads(request.content)
        tool = (body.get("tools") or [{}])[0].get("function", {}).get("name")
        texts = [str(m.get("content") or "") for m in body.get("messages", [])]
        schema = tool or self._schema_title(texts)
        self.calls[schema or "?"] += 1
        prompt = texts[-1] if texts else ""
        data = self._inputs(prompt)
        content = "I think it is fine." if self.garbage else json.dumps(self.answer(schema or "", data))
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if tool and not self.garbage:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": tool, "arguments": content}}],
            }
        return httpx.Response(
            200,
            json={
                "id": "fake-judge",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": 1, "total_tokens": 1},
            },
        )

    @staticmethod
    def _schema_title(texts: list[str]) -> str | None:
        for text in texts:
            for obj in _json_objects(text):
                if "properties" in obj and isinstance(obj.get("title"), str):
                    return str(obj["title"])
        return None

    @staticmethod
    def _inputs(prompt: str) -> dict[str, Any]:
        """The prompt's ``input: {...}`` block (ragas puts the metric's input model there)."""
        _, sep, tail = prompt.rpartition("\ninput: ")
        objects = _json_objects(tail) if sep else []
        return objects[0] if objects else {}

    def answer(self, schema: str, data: dict[str, Any]) -> dict[str, Any]:
        if schema == "StatementGeneratorOutput":
            return {"statements": _sentences(str(data.get("answer", ""))) or ["The answer says something."]}
        if schema == "NLIStatementOutput":
            return {
                "statements": [
                    {"statement": s, "reason": "scripted", "verdict": int(self.supported)}
                    for s in data.get("statements", [])
                ]
            }
        if schema == "AnswerRelevanceOutput":
            return {"question": self.question, "noncommittal": int(self.noncommittal)}
        if schema == "ContextPrecisionOutput":
            return {"reason": "scripted", "verdict": int(self.useful)}
        if schema == "ContextRecallOutput":
            return {
                "classifications": [
                    {"statement": s, "reason": "scripted", "attributed": int(self.attributed)}
                    for s in _sentences(str(data.get("answer", ""))) or ["The reference."]
                ]
            }
        return {}
