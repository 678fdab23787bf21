"""Model seams. Importing this package registers the built-in backends."""

from core.models import embed, fake, llama_cpp, openai_compat  # noqa: F401  (registration)
from core.models.chat import CHAT_MODELS, ChatModel, Completion, GenerationParams, LiveModelGuard
from core.models.embed import EMBEDDERS, Embedder

__all__ = [
    "CHAT_MODELS",
    "EMBEDDERS",
    "ChatModel",
    "Completion",
    "Embedder",
    "GenerationParams",
    "LiveModelGuard",
]
