"""The bundled models for real: llama.cpp (Gemma 3 270M) completes and streams, MiniLM embeds
with meaning. Few, short calls: they share two CPU cores with everything else."""

from __future__ import annotations

import numpy as np
import pytest

from core.models.chat import GenerationParams
from server.container import Services

pytestmark = pytest.mark.integration

PROMPT = "Question: What is the capital of France?\nAnswer: The capital of France is"


def test_llama_completes_a_short_prompt(real_services: Services) -> None:
    chat = real_services.chat
    assert chat.name == "llama" and chat.can_stream and not chat.follows_instructions
    out = chat.complete(PROMPT, GenerationParams(max_tokens=8, stop=("\n",), timeout_s=60))
    assert out.text.strip(), out
    assert "paris" in out.text.lower(), out.text
    assert 0 < out.completion_tokens <= 8 and out.prompt_tokens > 5
    assert out.finish_reason in ("stop", "length")


def test_llama_streams_the_same_text_token_by_token(real_services: Services) -> None:
    chat = real_services.chat
    params = GenerationParams(max_tokens=8, stop=("\n",), timeout_s=60)
    pieces = list(chat.stream(PROMPT, params))
    assert len(pieces) >= 2, pieces  # streamed, not one blob
    assert "".join(pieces) == chat.complete(PROMPT, params).text  # greedy decoding: same text either way


def test_minilm_embeds_normalised_vectors_that_capture_meaning(real_services: Services) -> None:
    embedder = real_services.embedder
    assert (embedder.name, embedder.dim) == ("minilm", 384)
    vecs = embedder.embed(
        [
            "How long do I have to send an item back?",
            "Returns are accepted within 30 days of delivery.",
            "Charge the headlamp with a USB-C cable.",
        ]
    )
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    question, returns, charging = vecs
    assert float(question @ returns) > float(question @ charging) + 0.2
    assert embedder.embed([]).shape == (0, 384)
