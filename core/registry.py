"""A plain registry of backends keyed by name (the llm plugin style).

Built-in backends register exactly like outside ones would::

    CHAT_MODELS.register("llama", LlamaCppChatModel.from_settings)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from core.errors import ConfigurationError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> factory. Factories receive the settings and return a backend."""

    def __init__(self, seam: str) -> None:
        self.seam = seam
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str, factory: Callable[..., T]) -> None:
        self._factories[name] = factory

    def names(self) -> list[str]:
        return sorted(self._factories)

    def create(self, name: str, *args: object, **kwargs: object) -> T:
        try:
            factory = self._factories[name]
        except KeyError:
            raise ConfigurationError(
                f"Unknown {self.seam} backend {name!r}; choose one of {', '.join(self.names())}."
            ) from None
        return factory(*args, **kwargs)
