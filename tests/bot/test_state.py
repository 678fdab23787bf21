from __future__ import annotations

import pytest

from bot.state import BotMemory, BotState, InvalidTransition
from core.types import Author, ConversationState, Turn


def test_bot_states_map_onto_the_stored_conversation_state() -> None:
    assert BotState.clarifying.conversation_state is ConversationState.bot
    assert BotState.awaiting_confirmation.conversation_state is ConversationState.awaiting_confirmation
    assert BotState.human.conversation_state is ConversationState.human
    assert BotState.human.silent and BotState.handoff_pending.silent and not BotState.answering.silent


def test_a_human_owned_conversation_cannot_jump_back_to_answering_without_a_hand_back() -> None:
    memory = BotMemory()
    memory.handed_off()
    memory.claimed()
    with pytest.raises(InvalidTransition):
        memory.move(BotState.answering)
    with pytest.raises(InvalidTransition):
        BotMemory().move(BotState.human)  # only a handoff leads to a human


def test_hand_back_keeps_what_the_agent_said_and_resets_the_triggers() -> None:
    memory = BotMemory(no_answer_streak=1, repeat_streak=1)
    memory.handed_off()
    turns = [
        Turn(author=Author.customer, text="where is my refund"),
        Turn(author=Author.bot, text="connecting you"),
        Turn(author=Author.agent, text="I've issued the refund for ORD-10003 today."),
    ]
    memory.hand_back(turns)
    assert memory.state is BotState.handed_back
    assert memory.human_notes == ["I've issued the refund for ORD-10003 today."]
    assert memory.since_turn == 3 and memory.no_answer_streak == 0 and memory.repeat_streak == 0


def test_memory_round_trips_through_json_as_the_store_keeps_it() -> None:
    memory = BotMemory(state=BotState.awaiting_confirmation, language="de", topic_intent="order_status")
    again = BotMemory.model_validate(memory.model_dump(mode="json"))
    assert again == memory
