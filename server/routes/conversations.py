"""The customer's side: conversations and messages in the widget."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from server.deps import ConversationsDep, Customer, CustomerOrAgent
from server.schemas import (
    ConversationCreate,
    ConversationPublic,
    ConversationWithMessages,
    ErrorBody,
    MessageCreate,
    TurnResult,
)

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


@router.post(
    "/{conversation_id}/messages",
    responses={
        202: {"model": TurnResult, "description": "Stored; the reply follows over the websocket."},
        429: {"model": ErrorBody, "description": "Too many messages; nothing stored (see Retry-After)."},
        503: {"model": ErrorBody, "description": "The database is unavailable; nothing stored (see Retry-After)."},
    },
)
def post_message(
    conversation_id: str,
    body: MessageCreate,
    principal: Customer,
    conversations: ConversationsDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="A client message id, reused on every retry of the same message: the retry returns "
            "the stored message and its replies instead of storing it again (1-128 printable ASCII characters)."
        ),
    ] = None,
) -> TurnResult:
    """Store the customer's message (committed before this returns) and run the bot's turn.
    Tokens stream over the conversation's websocket while the answer is generated.

    200: stored and answered (``replies``; empty while a human owns the conversation).
    202: stored, the reply is not ready (``pending``); it arrives over the websocket."""
    result = conversations.post_customer_message(principal, conversation_id, body.text, idempotency_key)
    if result.pending:
        response.status_code = status.HTTP_202_ACCEPTED
    return result
