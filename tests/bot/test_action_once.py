"""A write runs once per idempotency key when two yeses for it arrive at the same time (a
double tap, two browser tabs, a widget retry with a new client id, two workers): the second
yes repeats the first outcome and writes nothing. Builtin writes (their effect counted in the
database) and remote writes (their backend's calls counted), through ``ActionExecution.run`` in
two threads and through ``ConversationService`` with two "yes" posts at once.

Each scenario takes its Store or Services, so tests/integration/test_action_once_postgres.py
runs the same scenarios on PostgreSQL.

A rendezvous inside the write (both threads wait there for each other, at most ``WAIT_S``)
makes both yeses reach the write before either commits, when nothing keeps the second one
out; when something does, the first write's wait times out and it goes on alone."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import delete, inspect, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from bot.actions import ActionContext, ActionOutcome, PendingAction, ledger
from bot.actions.choices import Choice
from bot.actions.errors import ActionFailed
from bot.actions.execute import ActionExecution
from bot.actions.executors.base import ActionCall, ActionResult
from bot.actions.executors.builtin import BUILTINS, OrderLike, OrderUpdate
from core.db.schema import AuditEntry, Order
from core.db.store import Store
from core.tenancy.actions import ActionParameter, ActionSpec, BuiltinExecutor, HttpExecutor
from server.auth import Principal, Role
from server.container import Services
from server.service import ConversationService
from tests.conftest import OPEN_HOURS, TENANT

LEDGER = "idempotency.action"
WAIT_S = 0.5  # below SQLite's busy timeout (2 s): a write kept waiting on a lock still gets it
ORDER = "ORD-10043"  # cus_009's processing order in the demo CRM
AMOUNT = 5.0


class Rendezvous:
    """``__call__`` waits until ``parties`` callers arrived, or ``WAIT_S`` passed (then it goes
    on alone); counts who arrived."""

    def __init__(self, parties: int = 2) -> None:
        self._barrier = threading.Barrier(parties, timeout=WAIT_S)
        self._lock = threading.Lock()
        self.arrived = 0

    def __call__(self) -> None:
        with self._lock:
            self.arrived += 1
        try:
            self._barrier.wait()
        except threading.BrokenBarrierError:
            pass


@dataclass
class CreditOrder:
    """A credit-type builtin write: adds ``options["amount"]`` to the order's total in SQL
    (``total = total + amount``), so every run that commits shows in the total."""

    rendezvous: Callable[[], None]
    writes: bool = True

    def choices(self, s: Any, customer_id: str, options: Any, now: Any) -> list[Choice]:
        return []

    def run(self, s: Session, call: ActionCall, record: str, options: Any) -> ActionResult:
        self.rendezvous()
        amount = float(options["amount"])
        s.execute(update(Order).where(Order.external_id == record).values(total=Order.total + amount))
        return ActionResult(data={"id": record, "credited": amount}, target=record)


@dataclass
class RemoteBackend:
    """A remote executor (``http`` / ``mcp`` seam) that counts its calls."""

    rendezvous: Callable[[], None]
    keys: list[str | None] = field(default_factory=list)

    def call(self, call: ActionCall) -> ActionResult:
        self.keys.append(call.idempotency_key)
        self.rendezvous()
        return ActionResult(data={"credited": AMOUNT})


@dataclass(frozen=True)
class CancelAfterReading(OrderUpdate):
    """The demo's ``order_update`` with a rendezvous once it has read the order, before it
    writes (``allowed`` runs between the read and the write): both yeses read "processing"."""

    rendezvous: Callable[[], None] | None = None

    def allowed(self, o: OrderLike, options: Any, now: Any) -> bool:  # type: ignore[override]
        if self.rendezvous is not None:
            self.rendezvous()
        return OrderUpdate.allowed(o, options, now)


@contextmanager
def builtin(name: str, action: Any) -> Iterator[None]:
    kept = BUILTINS.get(name)
    BUILTINS[name] = action
    try:
        yield
    finally:
        if kept is None:
            BUILTINS.pop(name, None)
        else:
            BUILTINS[name] = kept


def _order_param() -> ActionParameter:
    return ActionParameter(name="order_id", type="pattern", pattern=r"ORD-\d+", source="record")


def credit_spec() -> ActionSpec:
    return ActionSpec(
        name="credit_order",
        description="Credit an order.",
        kind="write",
        parameters=[_order_param()],
        reply="Done: {order_id} is credited.",
        executor=BuiltinExecutor(name="test_credit", options={"amount": AMOUNT}),
    )


def remote_spec() -> ActionSpec:
    return ActionSpec(
        name="credit_remote",
        description="Credit an order in the company's system.",
        kind="write",
        parameters=[_order_param()],
        reply="Done: {order_id} is credited with {result.credited}.",
        executor=HttpExecutor(url="https://backend.invalid/credit", timeout_s=5),
    )


def _ctx() -> ActionContext:
    return ActionContext(TENANT, "cus_009", "conv-once", OPEN_HOURS)


def _pending(spec: ActionSpec) -> PendingAction:
    return PendingAction(action=spec.name, args={"order_id": ORDER}, awaiting="confirmation", key=f"k:{spec.name}")


def _twice(run: Callable[[], ActionOutcome]) -> list[ActionOutcome]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return [f.result() for f in [pool.submit(run), pool.submit(run)]]


def _total(store: Store) -> float:
    with store.read_session(TENANT) as s:
        return float(s.scalars(select(Order.total).where(Order.external_id == ORDER)).one())


def _actions(store: Store, action: str, target: str | None = None) -> list[AuditEntry]:
    with store.read_session(TENANT) as s:
        query = select(AuditEntry).where(AuditEntry.action == action)
        if target is not None:
            query = query.where(AuditEntry.target == target)
        rows = list(s.scalars(query))
        s.expunge_all()
        return rows


def _one_executed_one_replayed(outcomes: list[ActionOutcome]) -> None:
    assert [o.status for o in outcomes] == ["executed", "executed"], [o.text for o in outcomes]
    assert sorted(o.replayed for o in outcomes) == [False, True]
    assert outcomes[0].text == outcomes[1].text and outcomes[0].result == outcomes[1].result


# -- scenarios (SQLite here, PostgreSQL in tests/integration) --------------------------------


def scenario_two_yeses_credit_a_builtin_write_once(store: Store) -> None:
    spec, meet = credit_spec(), Rendezvous()
    execution = ActionExecution(store, redact=lambda text: text)
    before = _total(store)
    with builtin("test_credit", CreditOrder(meet)):
        outcomes = _twice(lambda: execution.run(_ctx(), spec, _pending(spec)))
    assert (_total(store) - before) / AMOUNT == 1, "the credit was written once"
    assert meet.arrived == 1, "the second yes never reached the write"
    _one_executed_one_replayed(outcomes)
    assert len(_actions(store, "action.credit_order")) == 1
    assert len(_actions(store, LEDGER, "k:credit_order")) == 1


def scenario_two_yeses_call_a_remote_backend_once(store: Store) -> None:
    spec, backend = remote_spec(), RemoteBackend(Rendezvous())
    execution = ActionExecution(store, executors={"http": backend}, redact=lambda text: text)
    outcomes = _twice(lambda: execution.run(_ctx(), spec, _pending(spec)))
    assert backend.keys == ["k:credit_remote"], "the backend was called once, with the proposal's key"
    _one_executed_one_replayed(outcomes)
    assert outcomes[0].text == f"Done: {ORDER} is credited with 5.0."
    assert len(_actions(store, "action.credit_remote")) == 1
    assert len(_actions(store, "action.credit_remote.call")) == 1
    assert len(_actions(store, LEDGER, "k:credit_remote")) == 1


def scenario_two_yes_posts_cancel_once(services: Services) -> None:
    """Through the service: a proposal, then two "yes" posts at once (two tabs: no shared
    client key). Both get the same answer; the order is cancelled by one of them."""
    service = ConversationService(services)
    principal = Principal(Role.customer, TENANT, "cus_009")
    conv = service.start(principal).id
    proposed = service.post_customer_message(principal, conv, "please cancel my sleeping bag order")
    assert proposed.replies and "Shall I cancel it?" in proposed.replies[0].text
    meet = Rendezvous()
    with builtin("order_update", CancelAfterReading(rendezvous=meet)):
        with ThreadPoolExecutor(max_workers=2) as pool:
            posts = [pool.submit(service.post_customer_message, principal, conv, "yes") for _ in range(2)]
            results = [p.result() for p in posts]
    assert meet.arrived == 1, "the second yes never reached the write"
    texts = [r.replies[0].text for r in results if r.replies]
    assert len(texts) == 2, [r.pending for r in results]
    assert texts[0] == texts[1] and texts[0].startswith(f"Done: order {ORDER} is cancelled."), texts
    done = _actions(services.store, "action.cancel_order", ORDER)
    assert [(e.detail["before"], e.detail["after"]) for e in done] == [("processing", "cancelled")]
    assert not _actions(services.store, "action.cancel_order.refused")


def scenario_a_failed_call_releases_its_key(store: Store) -> None:
    """A remote write that fails leaves no outcome under its key: the next yes calls the
    backend again, with the same key, and that outcome is the one replayed afterwards."""
    spec = remote_spec()
    calls: list[str | None] = []

    class FailsOnce:
        def call(self, call: ActionCall) -> ActionResult:
            calls.append(call.idempotency_key)
            if len(calls) == 1:
                raise ActionFailed("unavailable", "connection refused")
            return ActionResult(data={"credited": AMOUNT})

    execution = ActionExecution(store, executors={"http": FailsOnce()}, redact=lambda text: text)
    first = execution.run(_ctx(), spec, _pending(spec))
    assert first.status == "failed" and _actions(store, LEDGER, "k:credit_remote") == []
    second = execution.run(_ctx(), spec, _pending(spec))
    third = execution.run(_ctx(), spec, _pending(spec))
    assert calls == ["k:credit_remote", "k:credit_remote"]
    assert (second.status, second.replayed, third.replayed) == ("executed", False, True)
    assert third.text == second.text


def scenario_a_claim_past_its_deadline_is_taken_over(store: Store) -> None:
    """A worker that claimed a key and died in its call (no outcome, deadline passed): the
    next yes takes the key over and calls the backend, with the same key (it deduplicates);
    a claim still within its deadline is waited for, not called around."""
    spec = remote_spec()
    with store.session(TENANT) as s:
        ledger.claim(s, "bot", "k:credit_remote", spec.name, until=time.time() - 1)
    backend = RemoteBackend(lambda: None)
    execution = ActionExecution(store, executors={"http": backend}, redact=lambda text: text)
    out = execution.run(_ctx(), spec, _pending(spec))
    assert (out.status, out.replayed, backend.keys) == ("executed", False, ["k:credit_remote"])
    [entry] = _actions(store, LEDGER, "k:credit_remote")
    assert entry.detail["text"] == out.text and "state" not in entry.detail

    fresh = remote_spec().model_copy(update={"name": "credit_fresh"})
    with store.session(TENANT) as s:
        claim = ledger.claim(s, "bot", "k:credit_fresh", fresh.name, until=time.time() + 30)

    def finish() -> None:  # the other run's outcome arrives while this yes waits
        time.sleep(0.3)
        with store.session(TENANT) as s:
            ledger.record(s, claim, {"action_name": fresh.name, "text": "Done elsewhere.", "result": None})

    helper = threading.Thread(target=finish)
    helper.start()
    waited = execution.run(
        _ctx(), fresh, PendingAction(action=fresh.name, args={"order_id": ORDER}, key="k:credit_fresh")
    )
    helper.join()
    assert (waited.status, waited.replayed, waited.text) == ("executed", True, "Done elsewhere.")
    assert backend.keys == ["k:credit_remote"], "not called for the claim in flight"


def scenario_a_database_from_before_the_ledger_index_is_upgraded(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """``create_all`` adds the ledger's unique index to a database made without it; one that
    holds a key twice (the race happened there) keeps working without it, the failure logged
    with what it costs, and gets it once the duplicate is gone."""
    spec = credit_spec()

    def ledger_index() -> bool:
        return any(i["name"] == "uq_audit_log_ledger_key" for i in inspect(store.engine).get_indexes("audit_log"))

    with store.engine.begin() as conn:
        conn.execute(sql_text("DROP INDEX uq_audit_log_ledger_key"))
    outcome = {"action_name": spec.name, "text": "Credited before.", "result": None, "record": ORDER}
    with store.session(TENANT) as s:
        for _ in range(2):
            s.add(AuditEntry(actor="bot", action=LEDGER, target="k:credit_order", detail=outcome))
    assert not ledger_index()
    with caplog.at_level(logging.WARNING, logger="switchboard.store"):
        store.create_all()
    assert not ledger_index() and "uq_audit_log_ledger_key" in caplog.text and "both run it" in caplog.text
    before = _total(store)
    with builtin("test_credit", CreditOrder(lambda: None)):
        again = ActionExecution(store, redact=lambda text: text).run(_ctx(), spec, _pending(spec))
    assert (again.replayed, again.text, _total(store)) == (True, "Credited before.", before)

    with store.session(TENANT) as s:
        first = min(e.id for e in _actions(store, LEDGER, "k:credit_order"))
        s.execute(delete(AuditEntry).where(AuditEntry.id == first))
    store.create_all()
    assert ledger_index()


# -- SQLite ----------------------------------------------------------------------------------


@pytest.fixture
def store(demo_services: Services) -> Store:
    return demo_services.store


def test_two_yeses_at_once_credit_a_builtin_write_once(store: Store) -> None:
    scenario_two_yeses_credit_a_builtin_write_once(store)


def test_two_yeses_at_once_call_a_remote_backend_once(store: Store) -> None:
    scenario_two_yeses_call_a_remote_backend_once(store)


def test_two_yes_posts_at_once_cancel_an_order_once(demo_services: Services) -> None:
    scenario_two_yes_posts_cancel_once(demo_services)


def test_a_failed_call_releases_its_key(store: Store) -> None:
    scenario_a_failed_call_releases_its_key(store)


def test_a_claim_past_its_deadline_is_taken_over(store: Store) -> None:
    scenario_a_claim_past_its_deadline_is_taken_over(store)


def test_a_database_from_before_the_ledger_index_is_upgraded(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    scenario_a_database_from_before_the_ledger_index_is_upgraded(store, caplog)
