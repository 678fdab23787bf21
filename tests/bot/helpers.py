"""Drive the bot directly, as the conversation service does (memory kept between turns)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.errors import HandoffRequired
from bot.policy import Bot, BotReply
from bot.state import BotMemory
from core.types import Author, HandoffBrief, Turn

TENANT = "larkspur"
WEDNESDAY_NOON = datetime.fromisoformat("2026-11-18T12:00:00+01:00")
SUNDAY = datetime.fromisoformat("2026-11-22T10:30:00+01:00")


@dataclass
class Chat:
    bot: Bot
    customer_id: str | None = "cus_001"
    now: datetime = WEDNESDAY_NOON
    memory: BotMemory = field(default_factory=BotMemory)
    turns: list[Turn] = field(default_factory=list)
    handoff: HandoffRequired | None = None

    def say(self, text: str) -> BotReply | None:
        """The bot's reply, or None when it handed off (then ``self.handoff`` is set)."""
        self.turns.append(Turn(author=Author.customer, text=text))
        try:
            reply = self.bot.respond(
                TENANT, self.turns, customer_id=self.customer_id, memory=self.memory, now=self.now, conversation_id="c1"
            )
        except HandoffRequired as exc:
            self.handoff = exc
            self.turns.append(Turn(author=Author.bot, text=exc.customer_message))
            return None
        self.turns.append(Turn(author=Author.bot, text=reply.text))
        return reply

    @property
    def brief(self) -> HandoffBrief:
        assert self.handoff is not None, "the bot did not hand off"
        return self.handoff.brief
