"""The ledger of write actions: one audit entry (``idempotency.action``) per idempotency key and
tenant holds the outcome of the write that ran under the key, so a yes delivered twice — one
after the other, or both at once (a double tap, two tabs, two workers) — runs the write once and
repeats the first outcome.

The database keeps the promise: ``uq_audit_log_ledger_key`` (``core.db.schema``) allows one
ledger entry per tenant and key. A run *claims* its key by inserting the entry before it writes
(``claim``); a second claim of the key fails on the index (``sqlalchemy.exc.IntegrityError``):

- a builtin write claims, writes and records its outcome (``record``) in one transaction, so its
  claim is never seen half done: a second claim waits for that transaction (PostgreSQL: on the
  index entry; SQLite: on the database's write lock, up to the Store's busy timeout) and fails
  when it commits; a refused or failed write rolls its claim back with it;
- a remote write (``http``, ``mcp``) runs outside our transaction: its claim is committed before
  the call, marked ``running`` with a deadline (``until``, epoch seconds: the executor's timeout
  plus ``CLAIM_GRACE_S``), and ``record`` replaces it with the outcome. A failed call deletes
  its claim (``release``), so a later yes may try again. A claim past its deadline — the
  worker died during the call — may be taken over (``take_over``): the backend is then called
  again with the same key, which it deduplicates.

Entries written before claims existed have no ``state``: they are outcomes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, Executable, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from core.db.schema import LEDGER_ACTION, LEDGER_ONLY, AuditEntry, Base, utcnow
from core.db.store import CoreSession, execute_scoped, session_tenant

__all__ = ["CLAIM_GRACE_S", "LEDGER_ACTION", "LedgerEntry", "claim", "read", "record", "release", "take_over"]

# How long past the executor's own timeout a remote claim is still trusted to be in its call.
# A call ends within its timeout (httpx: per connect / read; MCP: the whole call), plus a few
# seconds to store its outcome; 10 s covers both. A claim taken over too early costs a second
# call with the same key, which the backend deduplicates.
CLAIM_GRACE_S = 10.0

_RUNNING = "running"

# Prebuilt Core statements with an explicit tenant filter (``b_tenant_id``: an UPDATE reserves
# the column's own name): one statement each, without the ORM's flush and criteria. The action
# is written literally (LEDGER_ONLY), so the partial unique index serves them on PostgreSQL's
# generic plans too.
_audit = Base.metadata.tables[AuditEntry.__tablename__]
_OWN = (_audit.c.tenant_id == bindparam("b_tenant_id"), LEDGER_ONLY)
_KEY = (*_OWN, _audit.c.target == bindparam("key"))
# One claim: by its key (the unique index; by its id alone, PostgreSQL's planner took the
# tenant's half of that index and filtered every ledger entry of the tenant) and its id.
_ONE = (*_KEY, _audit.c.id == bindparam("claim_id"), _audit.c.detail["state"].as_string() == _RUNNING)
_ENTRY = select(_audit.c.id, _audit.c.detail).where(*_KEY)
_CLAIM = insert(_audit).returning(_audit.c.id)
_RECORD = update(_audit).where(*_ONE).values(detail=bindparam("outcome"))
_DELETE = delete(_audit).where(*_ONE)


@dataclass(frozen=True)
class LedgerEntry:
    """The ledger entry of ``key``: its row ``id`` and ``detail`` (an outcome: ``action_name``,
    ``text``, ``result``, ``record``; or a claim: ``action_name``, ``state``, ``until``)."""

    id: int
    key: str
    detail: dict[str, Any]

    @property
    def running(self) -> bool:
        """A claim whose run has no outcome yet."""
        return self.detail.get("state") == _RUNNING

    def expired(self, now: float | None = None) -> bool:
        """A claim past its deadline (``now``: epoch seconds, default the wall clock)."""
        return self.running and (time.time() if now is None else now) > float(self.detail.get("until") or 0)


def read(s: Session | CoreSession, key: str) -> LedgerEntry | None:
    """The session tenant's ledger entry for ``key``, None when nothing claimed it (one
    read of the unique index)."""
    row = _execute(s, _ENTRY, key=key).first()
    return LedgerEntry(int(row.id), key, dict(row.detail or {})) if row is not None else None


def claim(
    s: Session | CoreSession, actor: str, key: str, action_name: str, *, until: float | None = None
) -> LedgerEntry:
    """Insert the ledger entry of ``key`` as a running claim (``until``: its deadline, epoch
    seconds, for a claim committed before a remote call) and return it. Raises
    ``IntegrityError`` when the key is claimed or done already — after waiting for the
    transaction that holds a claim not yet committed."""
    detail: dict[str, Any] = {"action_name": action_name, "state": _RUNNING}
    if until is not None:
        detail["until"] = until
    values = {"actor": actor, "action": LEDGER_ACTION, "target": key, "detail": detail, "created_at": utcnow()}
    row_id = _execute(s, _CLAIM, tenant_id=session_tenant(s), **values).scalar_one()
    return LedgerEntry(int(row_id), key, detail)


def record(s: Session | CoreSession, claim: LedgerEntry, outcome: dict[str, Any]) -> bool:
    """Replace ``claim`` by the run's ``outcome``; False when the claim is gone (taken over
    after its deadline: the run that took it records its own)."""
    return bool(_execute(s, _RECORD, key=claim.key, claim_id=claim.id, outcome=outcome).rowcount)


def release(s: Session | CoreSession, claim: LedgerEntry) -> None:
    """Delete ``claim`` (its run failed: nothing was recorded under its key)."""
    _execute(s, _DELETE, key=claim.key, claim_id=claim.id)


def take_over(s: Session | CoreSession, entry: LedgerEntry) -> bool:
    """Delete the expired claim ``entry`` so this run may claim the key; False when another
    run deleted or recorded it first."""
    return bool(_execute(s, _DELETE, key=entry.key, claim_id=entry.id).rowcount)



def _execute(s: Session | CoreSession, statement: Executable, **params: Any) -> CursorResult[Any]:
    """``statement`` with the session's tenant as ``b_tenant_id`` (``execute_scoped``)."""
    return execute_scoped(s, statement, tenant_param="b_tenant_id", **params)
