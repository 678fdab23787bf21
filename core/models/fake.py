"""Models for unit tests, shipped in the package (pydantic-ai style)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from core.errors import ModelTimeout, ModelUnavailable
from core.models.chat import CHAT_MODELS, Completion, GenerationParams

Responder = Callable[[str], str]


class ScriptedChatModel:
    """Answers from a script: a list of replies (in turn) or a function of the prompt.

    ``fail_with`` makes every call raise, to test what happens when the model is down.
    Every prompt seen is kept in ``prompts`` so tests can assert what reached the model.
    """

    name = "fake"
    can_stream = True
    follows_instructions = True

    def __init__(
        self,
        replies: Sequence[str] | Responder = ("I don't know.",),
        *,
        fail_with: type[Exception] | None = None,
    ) -> None:
        self._replies = replies
        self._i = 0
        self.fail_with = fail_with
        self.prompts: list[str] = []

    def _next(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if self.fail_with is not None:
            raise self.fail_with("scripted failure")
        if callable(self._replies):
            return self._replies(prompt)
        reply = self._replies[min(self._i, len(self._replies) - 1)]
        self._i += 1
        return reply

    def complete(self, prompt: str, params: GenerationParams) -> Completion:
        text = self._next(prompt)
        return Completion(text=text, prompt_tokens=len(prompt.split()), completion_tokens=len(text.split()))

    def stream(self, prompt: str, params: GenerationParams) -> Iterator[str]:
        text = self._next(prompt)
        yield from re.findall(r"\S+\s*", text)

    def describe(self) -> dict[str, object]:
        return {"backend": "fake"}


class DownChatModel(ScriptedChatModel):
    """A model that is down: every call raises ``ModelUnavailable``."""

    def __init__(self) -> None:
        super().__init__(fail_with=ModelUnavailable)


class SlowChatModel(ScriptedChatModel):
    """A model that times out."""

    def __init__(self) -> None:
        super().__init__(fail_with=ModelTimeout)


class HashingEmbedder:
    """Deterministic bag-of-words embedder: similar words give similar vectors. No model."""

    name = "fake"
    dim = 256

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in re.findall(r"[a-z0-9]+", text.lower()):
                stem = token[:6]
                h = int.from_bytes(hashlib.blake2b(stem.encode(), digest_size=4).digest(), "little")
                out[row, h % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        result: np.ndarray = out / norms
        return result

    def describe(self) -> dict[str, object]:
        return {"backend": "fake", "dim": self.dim}


CHAT_MODELS.register("fake", lambda settings: ScriptedChatModel())


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, recording every text it was asked to embed (``texts``, in order):
    for tests that check what was (not) embedded."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return super().embed(texts)
