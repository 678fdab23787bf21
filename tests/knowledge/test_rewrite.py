"""Multi-turn query rewriting: deterministic with the bundled model, LLM when capable."""

from __future__ import annotations

from core.models.fake import DownChatModel, ScriptedChatModel
from core.types import Author, Turn
from knowledge.rewrite import ConversationRewriter, LlmRewriter, conversation_rewrite
from prompts.loader import PromptLoader

TURNS = [
    Turn(author=Author.customer, text="I'm looking at the Aero kettle"),
    Turn(author=Author.bot, text="The Aero 1.7 litre kettle descales in ten minutes."),
    Turn(author=Author.customer, text="how often should I do that?"),
]


def test_conversation_rewrite_resolves_a_follow_up_from_both_sides() -> None:
    q = conversation_rewrite(TURNS)
    assert q.startswith("how often should I do that?")
    assert {"Aero", "kettle", "descales"} <= set(q.split())
    assert conversation_rewrite(TURNS[:1]) == "I'm looking at the Aero kettle"  # nothing to borrow
    assert conversation_rewrite([Turn(author=Author.bot, text="Hello")]) == ""


def test_llm_rewrite_uses_a_capable_model_and_the_prompt_template() -> None:
    chat = ScriptedChatModel(["How often should I descale the Aero kettle?"])
    rewriter = LlmRewriter(chat, PromptLoader())
    assert rewriter.rewrite(TURNS) == "How often should I descale the Aero kettle?"
    assert "The Aero 1.7 litre kettle" in chat.prompts[0] and "Last message: how often" in chat.prompts[0]


def test_llm_rewrite_falls_back_when_the_model_is_weak_down_or_rambling() -> None:
    expected = ConversationRewriter().rewrite(TURNS)
    weak = ScriptedChatModel(["whatever"])
    weak.follows_instructions = False  # the bundled base model
    assert LlmRewriter(weak, PromptLoader()).rewrite(TURNS) == expected and weak.prompts == []
    assert LlmRewriter(DownChatModel(), PromptLoader()).rewrite(TURNS) == expected
    assert LlmRewriter(ScriptedChatModel(["ok"]), PromptLoader()).rewrite(TURNS) == expected
