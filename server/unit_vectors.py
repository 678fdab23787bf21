"""Answer-unit vectors computed once per KB text, at index time, for every process.

The answer composer (``bot/compose``) compares the question with every unit (sentence,
list item, table row, numbered list …) of the retrieved passages. Embedding those units
was most of a turn's CPU whenever a passage was retrieved for the first time in a process:
about 0.2 s per turn over a fresh process's first turns, against 0.03 s once they are
known (``python -m bench turn_cpu``). Units depend on their passage alone, so they can be
computed ahead:

- ``warm_tenant(services, tenant)`` splits every indexed chunk of the tenant into its
  units (``bot.compose.units.from_passages``, exactly as a turn does) and stores the vectors
  of their ``search_text`` in the data dir's vector file (``core/models/persisted.py``),
  computing only those not stored yet (content-addressed: a KB edit adds the new text's);
- ``load_demo`` runs it right after loading (index time);
- ``UnitVectorWarmer`` runs it for every tenant when the server starts and again when a
  tenant's KB generation (the counter every KB change bumps, shared by all workers) moves,
  checking every ``unit_vectors_check_s`` seconds, so an upload through any worker or the
  CLI is warmed without a restart.

The answerer's embedder (``Services.kb_embedder``) reads the file; workers on one data
dir share it. The customer's own record also becomes units (``account``): those are never
written (they are embedded in memory per turn).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select

from bot.compose.units import from_passages
from core.db.schema import Tenant
from server.container import Services

log = logging.getLogger("switchboard.unit_vectors")


@dataclass
class WarmReport:
    tenant: str
    chunks: int
    units: int
    computed: int  # unit texts embedded now (the rest were stored already)
    seconds: float


def unit_texts(services: Services, tenant: str) -> tuple[int, list[str]]:
    """(number of chunks, distinct ``search_text`` of every unit of the tenant's indexed chunks)."""
    chunks = services.index.chunks(tenant)
    texts: dict[str, None] = {}
    for chunk in chunks:
        for unit in from_passages([chunk.to_passage(0.0)]):
            texts[unit.search_text] = None
    return len(chunks), list(texts)


def warm_tenant(services: Services, tenant: str) -> WarmReport:
    """Store the vectors of every answer unit of ``tenant``'s KB that is not stored yet."""
    start = time.perf_counter()
    n_chunks, texts = unit_texts(services, tenant)
    computed = services.kb_embedder.remember(texts)
    report = WarmReport(tenant, n_chunks, len(texts), computed, time.perf_counter() - start)
    if computed:
        log.info(
            "answer units of %s: %d chunks, %d units, %d embedded now (%.1fs)",
            tenant, n_chunks, len(texts), computed, report.seconds,
        )
    return report


def tenants(services: Services) -> list[str]:
    with services.store.admin_session() as s:
        return [str(t) for t in s.scalars(select(Tenant.id).order_by(Tenant.id))]


class UnitVectorWarmer:
    """The background thread: every tenant at start-up, then a tenant whose KB generation
    moved, checked every ``interval_s`` seconds."""

    def __init__(self, services: Services, interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.services = services
        self.interval_s = interval_s
        self.seen: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="unit-vectors", daemon=True)
        self._thread.start()

    def check(self) -> list[WarmReport]:
        """Warm every tenant whose KB generation is not the one last warmed here."""
        done: list[WarmReport] = []
        for tenant in tenants(self.services):
            if self._stop.is_set():
                break
            generation = self.services.store.kb_generation(tenant)
            if self.seen.get(tenant) == generation:
                continue
            done.append(warm_tenant(self.services, tenant))
            self.seen[tenant] = generation
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # noqa: BLE001  (the database or index may be down: next round; turns embed what they need)
                log.exception("warming answer-unit vectors failed")
            self._stop.wait(self.interval_s)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
