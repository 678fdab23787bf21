"""The agent's copilot on demand (summary, tone rewrite, KB search, feedback, guideline
steps) and the editors' review queue of KB drafts from the learning loop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from copilot.desk import CopilotDesk, DoneActions, FeedbackRecorded, RewriteRequest, SearchResults
from copilot.feedback import FeedbackIn
from copilot.learning import DraftApproval, DraftPublic, DraftsPublic, Published
from copilot.summaries import AfterContactSummary, Summary
from copilot.tone import Rewrite
from core.db.conversations import get_conversation
from server.deps import Agent, Editor, ServicesDep

router = APIRouter(prefix="/api/copilot", tags=["copilot"])
drafts_router = APIRouter(prefix="/api/copilot/drafts", tags=["kb drafts"])


class FeedbackBatch(BaseModel):
    items: list[FeedbackIn] = Field(min_length=1, max_length=50)


def _desk(services: ServicesDep) -> CopilotDesk:
    return CopilotDesk(services.store, services.copilot, services.summarizer, services.tone)


@router.get("/conversations/{conversation_id}/summary")
def rolling_summary(conversation_id: str, principal: Agent, services: ServicesDep) -> Summary:
    return _desk(services).summary(principal.tenant_id, conversation_id)


@router.get("/conversations/{conversation_id}/after-contact")
def after_contact_preview(conversation_id: str, principal: Agent, services: ServicesDep) -> AfterContactSummary:
    """What will be written to the CRM when the conversation is closed."""
    return _desk(services).after_contact(principal.tenant_id, conversation_id)


@router.post("/conversations/{conversation_id}/rewrite")
def rewrite(conversation_id: str, body: RewriteRequest, principal: Agent, services: ServicesDep) -> Rewrite:
    return _desk(services).rewrite(principal.tenant_id, conversation_id, body)


@router.post("/conversations/{conversation_id}/feedback")
def record_feedback(
    conversation_id: str, body: FeedbackBatch, principal: Agent, services: ServicesDep
) -> FeedbackRecorded:
    with services.store.session(principal.tenant_id) as s:
        get_conversation(s, conversation_id)  # 404 for another tenant's conversation
    n = services.feedback.record(principal.tenant_id, conversation_id, principal.actor, body.items)
    return FeedbackRecorded(recorded=n)


@router.post("/conversations/{conversation_id}/actions/{action}/done")
def mark_action_done(conversation_id: str, action: str, principal: Agent, services: ServicesDep) -> DoneActions:
    """Tick a guideline step; the next best action moves on (fresh suggestions are pushed)."""
    done = _desk(services).mark_done(principal.tenant_id, conversation_id, action[:64])
    services.live_assist.submit(principal.tenant_id, conversation_id)
    return done


@router.get("/search")
def search_kb(
    principal: Agent, services: ServicesDep, q: Annotated[str, Query(min_length=1, max_length=500)]
) -> SearchResults:
    """Free-text KB search for the console (internal articles included)."""
    return _desk(services).search(principal.tenant_id, q)


@drafts_router.get("")
def list_drafts(principal: Editor, services: ServicesDep, status: str | None = "pending") -> DraftsPublic:
    return services.learning.list(principal.tenant_id, status or None)


@drafts_router.post("/{draft_id}/approve")
def approve_draft(
    draft_id: str, principal: Editor, services: ServicesDep, body: DraftApproval | None = None
) -> Published:
    """Publish the (possibly edited) draft as a new KB article version."""
    return services.learning.approve(principal.tenant_id, draft_id, principal.actor, body or DraftApproval())


@drafts_router.post("/{draft_id}/reject")
def reject_draft(draft_id: str, principal: Editor, services: ServicesDep) -> DraftPublic:
    return services.learning.reject(principal.tenant_id, draft_id)
