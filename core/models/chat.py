"""The ``ChatModel`` seam: one protocol, one small class per backend, a registry by name.

Prompts are plain text rendered from ``prompts/`` templates; the bundled model is a base
model (completion style), so the protocol is completion-shaped. Chat-style servers get
the prompt as a single user message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from core.errors import ConfigurationError
from core.registry import Registry


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"


@dataclass(frozen=True)
class GenerationParams:
    max_tokens: int = 96
    stop: Sequence[str] = field(default_factory=tuple)
    temperature: float = 0.0
    timeout_s: float = 30.0


@runtime_checkable
class ChatModel(Protocol):
    """A text generator. Capability flags say what callers may rely on."""

    name: str
    can_stream: bool
    follows_instructions: bool  # False for base models: callers must not trust free output

    def complete(self, prompt: str, params: GenerationParams) -> Completion: ...

    def stream(self, prompt: str, params: GenerationParams) -> Iterator[str]: ...

    def describe(self) -> dict[str, object]: ...


CHAT_MODELS: Registry[ChatModel] = Registry("chat model")


class LiveModelGuard:
    """Tests switch live model calls off; a backend that would call a real model checks this."""

    allowed: bool = True

    @classmethod
    def check(cls, backend: str) -> None:
        if not cls.allowed:
            raise ConfigurationError(
                f"Live model call to {backend!r} in a unit test; use core.models.fake or mark the test 'integration'."
            )
