"""The agent's side: the queue, claiming, replying, handing back and closing."""

from __future__ import annotations

from fastapi import APIRouter

from core.db.conversations import get_conversation
from core.types import CustomerFacts
from server.deps import Agent, ConversationsDep, ServicesDep
from server.schemas import (
    AgentReply,
    ConversationPublic,
    ConversationsPublic,
    ConversationWithMessages,
    HandoffPublic,
    MessagePublic,
)

router = APIRouter(prefix="/api/agent/conversations", tags=["agent"])


@router.get("")
def list_queue(principal: Agent, conversations: ConversationsDep, state: str | None = None) -> ConversationsPublic:
    data = conversations.queue(principal, [state] if state else None)
    return ConversationsPublic(data=data, count=len(data))


@router.get("/{conversation_id}")
def read_conversation(
    conversation_id: str, principal: Agent, conversations: ConversationsDep
) -> ConversationWithMessages:
    conv, messages = conversations.get(principal, conversation_id)
    return ConversationWithMessages(**conv.model_dump(), messages=messages)


@router.get("/{conversation_id}/customer")
def read_customer(
    conversation_id: str, principal: Agent, conversations: ConversationsDep, services: ServicesDep
) -> CustomerFacts | None:
    """The conversation's customer as the CRM knows them, custom attributes included
    (null for an anonymous visitor or a customer the CRM does not know)."""
    conv, _ = conversations.get(principal, conversation_id)
    return services.context.facts(principal.tenant_id, conv.customer_id, for_agent=True)


@router.get("/{conversation_id}/handoffs")
def list_handoffs(conversation_id: str, principal: Agent, conversations: ConversationsDep) -> list[HandoffPublic]:
    return conversations.handoffs(principal, conversation_id)


@router.post("/{conversation_id}/claim")
def claim(conversation_id: str, principal: Agent, conversations: ConversationsDep) -> ConversationPublic:
    return conversations.claim(principal, conversation_id)


@router.post("/{conversation_id}/messages")
def reply(conversation_id: str, body: AgentReply, principal: Agent, conversations: ConversationsDep) -> MessagePublic:
    return conversations.agent_reply(principal, conversation_id, body.text)


@router.post("/{conversation_id}/handback")
def hand_back(conversation_id: str, principal: Agent, conversations: ConversationsDep) -> ConversationPublic:
    return conversations.hand_back(principal, conversation_id)


@router.post("/{conversation_id}/close")
def close(conversation_id: str, principal: Agent, conversations: ConversationsDep) -> ConversationPublic:
    return conversations.close(principal, conversation_id)


@router.post("/{conversation_id}/suggestions")
def refresh_suggestions(conversation_id: str, principal: Agent, conversations: ConversationsDep) -> dict[str, str]:
    """Recompute copilot suggestions now; they arrive over the agent websocket."""
    with conversations.services.store.read_session(principal.tenant_id) as s:
        get_conversation(s, conversation_id)  # 404 for one erased since the guard kept its owner
    conversations.suggest_for_agent(principal.tenant_id, conversation_id)
    return {"status": "sent"}
