"""Any OpenAI-compatible endpoint: vLLM, Ollama, llama.cpp's server, OpenAI.

Timeouts are set explicitly (never the SDK's 600 s default) and the HTTP transport is
injectable, so tests swap it without patching client internals.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

from core.errors import ConfigurationError, ModelTimeout, ModelUnavailable
from core.models.chat import CHAT_MODELS, ChatModel, Completion, GenerationParams, LiveModelGuard

if TYPE_CHECKING:
    from core.settings import Settings


class OpenAICompatibleChatModel:
    """Talks to ``{base_url}/chat/completions`` (or ``/completions`` with ``style="completions"``)."""

    name = "openai"
    can_stream = True

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "",
        timeout_s: float = 30.0,
        connect_timeout_s: float = 3.0,
        style: str = "chat",
        follows_instructions: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"openai_base_url must be an http(s) URL, got {base_url!r}")
        if style not in ("chat", "completions"):
            raise ConfigurationError("style must be 'chat' or 'completions'")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.style = style
        self.follows_instructions = follows_instructions
        self._api_key = api_key
        self._timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._transport = transport
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            if self._transport is None:
                LiveModelGuard.check(self.name)
            headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            self._client = httpx.Client(
                base_url=self.base_url, timeout=self._timeout, headers=headers, transport=self._transport
            )
        return self._client

    def _body(self, prompt: str, params: GenerationParams, stream: bool) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "stream": stream,
        }
        if params.stop:
            body["stop"] = list(params.stop)[:4]
        if self.style == "chat":
            body["messages"] = [{"role": "user", "content": prompt}]
            return "/chat/completions", body
        body["prompt"] = prompt
        return "/completions", body

    @staticmethod
    def _text_of(choice: dict[str, Any]) -> str:
        if "message" in choice:
            return str(choice["message"].get("content") or "")
        if "delta" in choice:
            return str(choice["delta"].get("content") or "")
        return str(choice.get("text") or "")

    def _timeout_for(self, params: GenerationParams) -> httpx.Timeout:
        """The configured timeouts, never longer than the call's own budget."""
        read = min(self._timeout.read or params.timeout_s, params.timeout_s)
        connect = min(self._timeout.connect or params.timeout_s, params.timeout_s)
        return httpx.Timeout(read, connect=connect)

    def complete(self, prompt: str, params: GenerationParams) -> Completion:
        path, body = self._body(prompt, params, stream=False)
        try:
            response = self.client.post(path, json=body, timeout=self._timeout_for(params))
            response.raise_for_status()
        except httpx.TimeoutException as exc:
            raise ModelTimeout(f"{self.base_url} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise ModelUnavailable(f"{self.base_url} failed: {exc}") from exc
        try:
            data = response.json()
            choice = data["choices"][0]
            usage = data.get("usage") or {}
            return Completion(
                text=self._text_of(choice),
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                finish_reason=str(choice.get("finish_reason") or "stop"),
            )
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ModelUnavailable(f"{self.base_url} sent a malformed completion: {exc!r}"[:300]) from exc

    def stream(self, prompt: str, params: GenerationParams) -> Iterator[str]:
        path, body = self._body(prompt, params, stream=True)
        try:
            with self.client.stream("POST", path, json=body, timeout=self._timeout_for(params)) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    try:
                        choices = json.loads(payload).get("choices") or []
                        text = self._text_of(choices[0]) if choices else ""
                    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                        raise ModelUnavailable(f"{self.base_url} sent a malformed stream event: {exc!r}"[:300]) from exc
                    if text:
                        yield text
        except httpx.TimeoutException as exc:
            raise ModelTimeout(f"{self.base_url} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise ModelUnavailable(f"{self.base_url} failed: {exc}") from exc

    def describe(self) -> dict[str, object]:
        return {"backend": self.name, "base_url": self.base_url, "model": self.model, "style": self.style}


def _from_settings(settings: Settings) -> ChatModel:
    return OpenAICompatibleChatModel(
        settings.openai_base_url,
        settings.openai_model,
        api_key=settings.openai_api_key.get_secret_value(),
        timeout_s=settings.openai_timeout_s,
        connect_timeout_s=settings.openai_connect_timeout_s,
        style=settings.openai_api_style,
        follows_instructions=settings.openai_supports_instructions,
    )


CHAT_MODELS.register("openai", _from_settings)
