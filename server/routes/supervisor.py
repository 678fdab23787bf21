"""Supervisors: copilot acceptance rates per suggestion type, and the supervisor page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from copilot.feedback import AcceptanceReport
from server.deps import ServicesDep, Supervisor
from server.routes.pages import STATIC

router = APIRouter(tags=["supervisor"])


@router.get("/supervisor", include_in_schema=False)
def supervisor_page() -> FileResponse:
    return FileResponse(STATIC / "supervisor.html")


@router.get("/api/supervisor/copilot/acceptance")
def acceptance_rates(principal: Supervisor, services: ServicesDep) -> AcceptanceReport:
    """For each suggestion type: shown, inserted, edited, dismissed and the acceptance rate."""
    return services.feedback.acceptance(principal.tenant_id)
