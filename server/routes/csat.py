"""The customer's end of a conversation in the widget: end the chat, then rate it (CSAT).

Only the customer who owns the conversation (the widget token) may end or rate it; one
rating per conversation, only after it has closed (analytics/csat.py)."""

from __future__ import annotations

from fastapi import APIRouter, status

from analytics import CsatIn, CsatPublic, CsatStatus
from core.db.conversations import get_conversation
from server.deps import ConversationsDep, Customer, ServicesDep
from server.schemas import ConversationPublic

router = APIRouter(prefix="/api/conversations", tags=["csat"])


def _own(conversations: ConversationsDep, principal: Customer, conversation_id: str) -> None:
    with conversations.services.store.session(principal.tenant_id) as s:
        conversations.check_access(principal, get_conversation(s, conversation_id))


@router.post("/{conversation_id}/end")
def end_conversation(conversation_id: str, principal: Customer, conversations: ConversationsDep) -> ConversationPublic:
    """The customer ends the chat (the widget then asks for a rating). Ending twice is harmless."""
    _own(conversations, principal, conversation_id)
    conv, _ = conversations.get(principal, conversation_id)
    if conv.state == "closed":
        return conv
    return conversations.close(principal, conversation_id)


@router.get("/{conversation_id}/csat")
def csat_status(
    conversation_id: str, principal: Customer, conversations: ConversationsDep, services: ServicesDep
) -> CsatStatus:
    """Whether the widget should ask (closed, and the customer wrote) and whether it was answered."""
    _own(conversations, principal, conversation_id)
    return services.analytics.csat.status(principal.tenant_id, conversation_id)


@router.post("/{conversation_id}/csat", status_code=status.HTTP_201_CREATED)
def rate_conversation(
    conversation_id: str, body: CsatIn, principal: Customer, conversations: ConversationsDep, services: ServicesDep
) -> CsatPublic:
    """Rate a closed conversation 1-5 with an optional comment (personal data removed) and
    whether it was solved. 409 when it is still open or already rated."""
    _own(conversations, principal, conversation_id)
    answer = body.model_copy(update={"comment": services.redactor(body.comment)})
    return services.analytics.csat.record(principal.tenant_id, conversation_id, answer)
