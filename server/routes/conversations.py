"""The customer's side: conversations and messages in the widget."""

from __future__ import annotations

from fastapi import APIRouter, status

from server.deps import ConversationsDep, Customer, CustomerOrAgent
from server.schemas import ConversationCreate, ConversationPublic, ConversationWithMessages, MessageCreate, TurnResult

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


@router.post("", status_code=status.HTTP_201_CREATED)
def start_conversation(
    principal: Customer, conversations: ConversationsDep, body: ConversationCreate | None = None
) -> ConversationPublic:
    return conversations.start(principal, language=(body.language if body else "en"))


@router.get("/{conversation_id}")
def read_conversation(
    conversation_id: str, principal: CustomerOrAgent, conversations: ConversationsDep
) -> ConversationWithMessages:
    conv, messages = conversations.get(principal, conversation_id)
    return ConversationWithMessages(**conv.model_dump(), messages=messages)


@router.post("/{conversation_id}/messages")
def post_message(
    conversation_id: str, body: MessageCreate, principal: Customer, conversations: ConversationsDep
) -> TurnResult:
    """Store the customer's message (committed before this returns) and run the bot's turn.
    Tokens stream over the conversation's websocket while the answer is generated."""
    return conversations.post_customer_message(principal, conversation_id, body.text)
