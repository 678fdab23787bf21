"""Administration: erasure of a customer's personal data (supervisors only)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from server.deps import ServicesDep, Supervisor
from server.erasure import Erasure

router = APIRouter(prefix="/api/admin", tags=["admin"])


class ErasurePublic(BaseModel):
    customer_id: str
    subject_hash: str
    counts: dict[str, int]


@router.delete("/customers/{customer_id}")
def erase_customer(customer_id: str, principal: Supervisor, services: ServicesDep) -> ErasurePublic:
    """Delete the customer's messages, conversations, CRM records, drafts, derived vectors and
    their conversations' action ledger entries, anonymise the audit entries about them (action
    and time kept), and write an erasure log entry (a hash of the id and the counts per kind;
    docs/trust.md, Erasure)."""
    digest, counts = Erasure(services.store, services.kb).erase_customer(
        principal.tenant_id, customer_id, principal.actor
    )
    return ErasurePublic(customer_id=customer_id, subject_hash=digest, counts=counts)
