"""Instruments the in-process target installs around the product's components:
a chat model wrapper that counts tokens per thread (so parallel cases are attributed
correctly) and a clock that returns each case's ``at`` time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

from core.models.chat import ChatModel, Completion, GenerationParams


class _Counts(threading.local):
    prompt: int = 0
    completion: int = 0


class CountingChatModel:
    """Delegates to ``inner``; counts prompt and completion tokens of the calling thread."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.name = inner.name
        self.can_stream = inner.can_stream
        self.follows_instructions = inner.follows_instructions
        self._counts = _Counts()

    def take(self) -> tuple[int, int]:
        """Tokens used by this thread since the last call."""
        out = (self._counts.prompt, self._counts.completion)
        self._counts.prompt = self._counts.completion = 0
        return out

    def complete(self, prompt: str, params: GenerationParams) -> Completion:
        result = self.inner.complete(prompt, params)
        self._counts.prompt += result.prompt_tokens or len(prompt) // 4
        self._counts.completion += result.completion_tokens or len(result.text) // 4
        return result

    def stream(self, prompt: str, params: GenerationParams) -> Iterator[str]:
        self._counts.prompt += len(prompt) // 4  # streaming backends report no usage: ~4 chars a token
        for piece in self.inner.stream(prompt, params):
            self._counts.completion += max(1, len(piece) // 4)
            yield piece

    def describe(self) -> dict[str, object]:
        return self.inner.describe()

    def __getattr__(self, name: str) -> object:  # other attributes of the wrapped model
        return getattr(self.inner, name)


class CaseClock:
    """``clock()`` is the case's ``at`` time on the thread running that case, else now."""

    def __init__(self) -> None:
        self._local = threading.local()

    def set(self, at: datetime | None) -> None:
        self._local.at = at

    def __call__(self) -> datetime:
        at: datetime | None = getattr(self._local, "at", None)
        return at if at is not None else datetime.now(UTC)
