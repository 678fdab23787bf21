from __future__ import annotations

import httpx
import pytest

from core.errors import ConfigurationError, ModelTimeout, ModelUnavailable
from core.models import CHAT_MODELS, EMBEDDERS
from core.models.chat import GenerationParams, LiveModelGuard
from core.models.fake import HashingEmbedder
from core.models.llama_cpp import LlamaCppChatModel
from core.models.openai_compat import OpenAICompatibleChatModel
from core.settings import Settings


def test_registries_list_builtin_backends() -> None:
    assert {"llama", "openai", "fake"} <= set(CHAT_MODELS.names())
    assert {"minilm", "fake"} <= set(EMBEDDERS.names())


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(ConfigurationError, match="choose one of"):
        CHAT_MODELS.create("gpt-17", Settings())


def test_live_model_call_in_unit_test_fails_loudly() -> None:
    assert LiveModelGuard.allowed is False
    with pytest.raises(ConfigurationError, match="unit test"):
        LlamaCppChatModel().complete("hi", GenerationParams())


def _transport(handler):  # type: ignore[no-untyped-def]
    return httpx.MockTransport(handler)


def test_openai_compatible_backend_sends_prompt_and_reads_answer() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["path"] = request.url.path
        seen["auth"] = request.headers.get("authorization")
        return httpx.Response(
            200,
            json={
                "choices": [{"message": {"content": "Thirty days."}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 3},
            },
        )

    model = OpenAICompatibleChatModel("http://models.local/v1", "m", api_key="k", transport=_transport(handler))
    out = model.complete("How long?", GenerationParams(max_tokens=10))
    assert out.text == "Thirty days."
    assert out.prompt_tokens == 12
    assert seen == {"path": "/v1/chat/completions", "auth": "Bearer k"}


def test_openai_compatible_backend_streams_tokens() -> None:
    body = (
        'data: {"choices":[{"delta":{"content":"Thirty"}}]}\n\n'
        'data: {"choices":[{"delta":{"content":" days."}}]}\n\ndata: [DONE]\n\n'
    )
    model = OpenAICompatibleChatModel(
        "http://models.local/v1", "m", transport=_transport(lambda r: httpx.Response(200, text=body))
    )
    assert "".join(model.stream("q", GenerationParams())) == "Thirty days."


def test_model_down_and_slow_raise_typed_errors() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    with pytest.raises(ModelUnavailable):
        OpenAICompatibleChatModel("http://x/v1", "m", transport=_transport(down)).complete("q", GenerationParams())
    with pytest.raises(ModelTimeout):
        OpenAICompatibleChatModel("http://x/v1", "m", transport=_transport(slow)).complete("q", GenerationParams())


def test_bad_base_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        OpenAICompatibleChatModel("models.local", "m")


def test_hashing_embedder_is_normalised_and_similarity_follows_words() -> None:
    e = HashingEmbedder()
    v = e.embed(["return an item", "returning items", "espresso machine descaling"])
    assert v.shape == (3, e.dim)
    assert abs(float((v[0] ** 2).sum()) - 1.0) < 1e-5
    assert v[0] @ v[1] > v[0] @ v[2]
