"""The bot's turn policy as a typed state machine.

States (``BotState``) and the turn outcomes that move between them (``TurnKind``):

    answering ──answer/abstain/smalltalk──▶ answering
    answering ──clarify──▶ clarifying ──(next turn)──▶ answering …
    answering ──act (write proposed)──▶ awaiting_confirmation ──yes/no──▶ answering
    any bot state ──handoff──▶ handoff_pending ──agent claims──▶ human
    human / handoff_pending ──agent hands back──▶ handed_back ──next turn──▶ answering …
    human / handoff_pending: the bot stays silent.

``BotMemory`` holds the state and the policy's counters; the server persists it in
``Conversation.memory["bot"]`` with every turn, so a restart loses nothing.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field

from bot.actions import PendingAction
from core.errors import SwitchboardError
from core.types import Author, Citation, ConversationState, Turn


class BotState(str, Enum):
    answering = "answering"
    clarifying = "clarifying"
    awaiting_confirmation = "awaiting_confirmation"
    handoff_pending = "handoff_pending"
    human = "human"
    handed_back = "handed_back"

    @property
    def conversation_state(self) -> ConversationState:
        return _CONVERSATION_STATE[self]

    @property
    def silent(self) -> bool:
        return self in (BotState.handoff_pending, BotState.human)


_CONVERSATION_STATE = {
    BotState.answering: ConversationState.bot,
    BotState.clarifying: ConversationState.bot,
    BotState.handed_back: ConversationState.bot,
    BotState.awaiting_confirmation: ConversationState.awaiting_confirmation,
    BotState.handoff_pending: ConversationState.handoff_pending,
    BotState.human: ConversationState.human,
}


class TurnKind(str, Enum):
    answer = "answer"
    abstain = "abstain"
    clarify = "clarify"
    act = "act"  # an action ran, was proposed, or needs a detail
    smalltalk = "smalltalk"
    handoff = "handoff"
    silent = "silent"


_BOT_SIDE = frozenset({BotState.answering, BotState.clarifying, BotState.awaiting_confirmation, BotState.handed_back})

TRANSITIONS: dict[BotState, frozenset[BotState]] = {
    BotState.answering: (_BOT_SIDE | {BotState.handoff_pending}) - {BotState.handed_back},
    BotState.clarifying: (_BOT_SIDE | {BotState.handoff_pending}) - {BotState.handed_back},
    BotState.awaiting_confirmation: (_BOT_SIDE | {BotState.handoff_pending}) - {BotState.handed_back},
    BotState.handed_back: (_BOT_SIDE | {BotState.handoff_pending}) - {BotState.handed_back},
    BotState.handoff_pending: frozenset({BotState.handoff_pending, BotState.human, BotState.handed_back}),
    BotState.human: frozenset({BotState.human, BotState.handed_back}),
}


class InvalidTransition(SwitchboardError):
    """A state change the policy does not allow; fix the caller, this is a bug."""


class BotMemory(BaseModel):
    """Policy state kept with the conversation (JSON in ``Conversation.memory["bot"]``)."""

    state: BotState = BotState.answering
    since_turn: int = 0  # triggers only look at turns from here (moved on hand-back)
    no_answer_streak: int = 0
    repeat_streak: int = 0
    offered_human: bool = False
    offer_reason: str | None = None  # the handoff reason a "yes" to our offer of a person records
    clarify_options: list[str] = Field(default_factory=list)  # what our clarifying question offered
    clarified: str = ""  # the question we asked about (the next turn answers the chosen reading)
    language: str = "en"
    topic_intent: str | None = None
    pending: PendingAction | None = None
    tried: list[str] = Field(default_factory=list)
    cited: list[Citation] = Field(default_factory=list)
    human_notes: list[str] = Field(default_factory=list)  # what the agent said before handing back
    handoffs: int = 0

    def move(self, to: BotState) -> None:
        if to not in TRANSITIONS[self.state]:
            raise InvalidTransition(f"The bot cannot go from {self.state.value} to {to.value}.")
        self.state = to

    def handed_off(self) -> None:
        self.move(BotState.handoff_pending)
        self.pending = None
        self.handoffs += 1

    def claimed(self) -> None:
        self.move(BotState.human)

    def hand_back(self, turns: list[Turn]) -> None:
        """The agent returns the conversation: remember what the human said, reset the triggers."""
        if not self.state.silent:
            self.state = BotState.human  # an agent replied without a handoff: that took it over
        self.move(BotState.handed_back)
        start = self.since_turn
        self.human_notes = [t.text for t in turns[start:] if t.author == Author.agent][-3:]
        self.since_turn = len(turns)
        self.no_answer_streak = 0
        self.repeat_streak = 0
        self.offered_human = False
        self.offer_reason = None
        self.clarify_options = []
        self.clarified = ""
        self.pending = None

    def note(self, tried: str) -> None:
        self.tried = [*self.tried, tried][-8:]

    def cite(self, citations: list[Citation]) -> None:
        self.cited = [*self.cited, *citations][-6:]
