"""The customer's side: conversations and messages in the widget."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Request, Response, status

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

def _turn_limiter(request: Request) -> anyio.CapacityLimiter:
    """Bot turns run on threads of their own (``turn_threads``), so they never take the
    threads the light requests use; more turns than that wait their turn in arrival order."""
    state = request.app.state
    if not hasattr(state, "turn_limiter"):
        state.turn_limiter = anyio.CapacityLimiter(state.services.settings.turn_threads)
    return state.turn_limiter  # type: ignore[no-any-return]


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
async def post_message(
    request: Request,
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
    services = request.app.state.services
    post = partial(conversations.post_customer_message, principal, conversation_id, body.text, idempotency_key)

    def turn() -> TurnResult:
        with services.compute.hold():  # at most turn_compute_slots turns compute at once
            return post()

    result = await anyio.to_thread.run_sync(turn, limiter=_turn_limiter(request))
    if result.pending:
        response.status_code = status.HTTP_202_ACCEPTED
    return result
