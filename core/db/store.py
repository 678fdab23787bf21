"""The ``Store`` seam: SQLite (default) and PostgreSQL through one SQLAlchemy schema.

``Store.session(tenant_id)`` opens a tenant session: every ORM SELECT, UPDATE and DELETE
in it gets ``tenant_id = :tenant`` added by the data layer, and every new row is stamped
with the tenant (a row for another tenant is refused). Callers cannot forget the filter.

Database faults: ``Store.run(tenant, work)`` runs a unit of work and, on a transient error
(a held SQLite lock, a dropped or restarted PostgreSQL connection, a serialization failure
or deadlock), rolls it back and runs it again with bounded exponential backoff; when the
error persists it raises ``StoreUnavailable`` (HTTP 503 with ``Retry-After``). A plain
``session()`` does not retry but turns the same errors into ``StoreUnavailable`` too.
Nothing is half-written: each attempt is one transaction.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Executable, Text, bindparam, cast, create_engine, event, inspect, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria

from core.db.schema import AuditEntry, Base, Conversation, KbState, Message, Tenant, TenantScoped
from core.errors import ConfigurationError, Forbidden, StoreUnavailable
from core.registry import Registry

log = logging.getLogger("switchboard.store")

T = TypeVar("T")

# Tenant rows read inside ``Store.tenant_snapshot()`` (this context only): (store, tenant id) ->
# (name, config), or None for an unknown tenant.
# The row comes with the tenant's KB generation (read in the same statement), which
# ``kb_generation`` answers from inside the snapshot.
_TenantRow = tuple[str, dict[str, Any], int] | None
_SNAPSHOT: ContextVar[dict[tuple[int, str], _TenantRow] | None] = ContextVar("tenant_snapshot", default=None)


# Built once: the tenant's row is read on every request, its KB generation before every search.
# The configuration comes as its stored JSON text (``Store._config_of`` parses a text once).
_TENANT_ROW = (
    select(Tenant.name, cast(Tenant.config, Text).label("config"), KbState.generation)
    .outerjoin(KbState, KbState.tenant_id == Tenant.id)
    .where(Tenant.id == bindparam("tenant_id"))
)
_KB_GENERATION = select(KbState.generation).where(KbState.tenant_id == bindparam("tenant_id"))


# Indexes added after their table first shipped, created on start-up when missing
# (``Store.create_all``): (table, index) -> what goes wrong without it.
LATER_INDEXES: dict[tuple[str, str], str] = {
    (Message.__tablename__, "uq_messages_conv_seq"): "message order is not guaranteed",
    (Conversation.__tablename__, "ix_conversations_waiting"): "each sweep for unanswered messages reads "
    "every conversation the bot owns",
    (AuditEntry.__tablename__, "uq_audit_log_ledger_key"): "two yeses for one write action that arrive at "
    "once may both run it, and each yes reads the tenant's whole audit log for its key",
}


# Passes of ``Store.create_all`` when another worker creating the same schema at the same moment
# makes one fail.
SCHEMA_ATTEMPTS = 3

# A pooled server connection idle at least this long is pinged before use (``_ping_when_idle``).
IDLE_PING_S = 2.0


def is_transient(exc: BaseException) -> bool:
    """True for database errors that a retry of the whole unit of work may cure: a held
    SQLite lock ("database is locked"), a lost PostgreSQL connection, a serialization
    failure or deadlock (SQLSTATE 40001 / 40P01), a pool checkout timeout."""
    if isinstance(exc, PoolTimeout | OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class TenantSession(Session):
    """A session bound to one tenant (``info["tenant_id"]``), or unscoped for admin work."""


@lru_cache(maxsize=4096)
def _tenant_criteria(tenant: str) -> Any:
    """The tenant filter as a loader option, built once per tenant (an option is immutable;
    building it per statement was a tenth of a statement's cost)."""
    return with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant, include_aliases=True)


@event.listens_for(TenantSession, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    tenant = state.session.info.get("tenant_id")
    if tenant is None:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(_tenant_criteria(tenant))


@event.listens_for(TenantSession, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get("read_only") and (session.new or session.dirty or session.deleted):
        raise ConfigurationError("A read session (Store.read_session) cannot write; use Store.session or Store.run")
    tenant = session.info.get("tenant_id")
    if tenant is None:
        return
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, TenantScoped):
            if obj.tenant_id is None:
                obj.tenant_id = tenant
            elif obj.tenant_id != tenant:
                raise Forbidden(f"Refusing to write a row of tenant {obj.tenant_id!r} in a session of {tenant!r}")


@dataclass(frozen=True, slots=True)
class CoreSession:
    """A transaction on a plain connection for Core statements only (``Store.run_core``,
    ``Store.read_core``): no ORM objects, no automatic tenant filter — every statement
    filters on ``tenant_id`` itself. The functions of ``core.db.conversations`` and
    ``knowledge.crm.customer_facts`` take one where they take a tenant session."""

    connection: Connection
    tenant_id: str


def session_tenant(session: Session | CoreSession) -> str:
    """The tenant a session is bound to, for Core statements that filter on it themselves
    (ORM statements get the filter from ``_scope_to_tenant``). Raises ``Forbidden`` for an
    unscoped session."""
    if isinstance(session, CoreSession):
        return session.tenant_id
    tenant = session.info.get("tenant_id")
    if not tenant:
        raise Forbidden("A tenant is required")
    return str(tenant)


def session_connection(session: Session | CoreSession) -> Connection:
    """The connection a Core statement of ``session`` runs on; for an ORM session, after what
    it holds is flushed (as an ORM statement would autoflush: a row added but not yet flushed
    is visible)."""
    if isinstance(session, CoreSession):
        return session.connection
    session.flush()
    return session.connection()


def execute_scoped(
    session: Session | CoreSession, statement: Executable, *, tenant_param: str = "tenant_id", **params: Any
) -> CursorResult[Any]:
    """``statement`` on the session's connection (``session_connection``), the session's tenant
    bound as ``tenant_param``: for prebuilt Core statements that filter on the tenant themselves.
    An UPDATE reserves its table's column names for its SET clause, so its tenant filter needs
    a parameter of another name (e.g. ``b_tenant_id``)."""
    return session_connection(session).execute(statement, {**params, tenant_param: session_tenant(session)})


class Store:
    """Engine + session factory. Create once per process and pass it in."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        busy_timeout_s: float = 2.0,
        retry_attempts: int = 3,
        retry_base_s: float = 0.05,
        idle_ping_s: float = IDLE_PING_S,
    ) -> None:
        """``busy_timeout_s``: how long one SQLite statement waits for a held lock (PostgreSQL:
        the connect timeout); ``retry_attempts``: attempts of a unit of work in ``run``;
        backoff between them doubles from ``retry_base_s`` with jitter, capped at 1 s;
        ``idle_ping_s``: a pooled server connection idle at least this long is pinged before
        it is handed out (``_ping_when_idle``)."""
        if busy_timeout_s <= 0 or retry_attempts < 1 or retry_base_s < 0 or idle_ping_s < 0:
            raise ConfigurationError("The database busy timeout must be positive and retry attempts at least 1")
        self.url = url
        self.busy_timeout_s = busy_timeout_s
        self.retry_attempts = retry_attempts
        self.retry_base_s = retry_base_s
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_s}
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 30
            kwargs["pool_timeout"] = 10
            if url.startswith("postgresql"):
                kwargs["connect_args"] = {"connect_timeout": max(1, int(busy_timeout_s + 0.5))}
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except Exception as exc:
            raise ConfigurationError(f"Bad database URL {url!r}: {exc}") from exc
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            _ping_when_idle(self.engine, idle_ping_s)
        self._factory = sessionmaker(self.engine, class_=TenantSession, expire_on_commit=False)
        # Reads on a server database run each statement on its own (autocommit): a read in a
        # transaction costs a BEGIN and a ROLLBACK round trip besides the query, and under READ
        # COMMITTED each statement sees its own snapshot anyway. SQLite: as before.
        self._read_engine: Engine = (
            self.engine if url.startswith("sqlite") else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._read_factory = sessionmaker(self._read_engine, class_=TenantSession, expire_on_commit=False)
        # tenant id -> (the configuration's stored JSON text, that text parsed): ``_config_of``.
        self._configs: dict[str, tuple[str, dict[str, Any]]] = {}

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def create_all(self) -> None:
        """Create missing tables, and add columns that a newer schema has and an existing
        database lacks (additive upgrades only: new columns get their SQL default or NULL).

        Workers started at the same moment (``uvicorn --workers N``) each run this on the same
        database: a CREATE TABLE or ADD COLUMN that another worker ran first fails here
        ("already exists"), so the pass runs again and finds them, at most
        ``SCHEMA_ATTEMPTS`` times; an error that persists (no permission, no database) is
        raised as the ``SQLAlchemyError`` it is."""
        for attempt in range(1, SCHEMA_ATTEMPTS + 1):
            try:
                Base.metadata.create_all(self.engine)
                self._add_missing_columns()
                break
            except SQLAlchemyError as exc:
                if attempt == SCHEMA_ATTEMPTS:
                    raise
                log.info("creating the schema failed (%s); another worker may be creating it, trying again", exc)
                self._backoff(attempt)
        self._ensure_later_indexes()

    def _ensure_later_indexes(self) -> None:
        """Indexes added after their table first shipped (``LATER_INDEXES``; ``create_all``
        skips existing tables): created when missing, idempotent. One that cannot be created
        is logged with what its absence costs, and start-up goes on."""
        for (table, name), without in LATER_INDEXES.items():
            index = next(i for i in Base.metadata.tables[table].indexes if i.name == name)
            try:
                index.create(self.engine, checkfirst=True)
            except SQLAlchemyError as exc:  # e.g. duplicates stored before a unique index existed
                if any(found["name"] == name for found in inspect(self.engine).get_indexes(table)):
                    continue  # another worker starting at the same moment created it
                log.warning("could not create %s (%s); %s", name, exc, without)

    def _add_missing_columns(self) -> None:
        from sqlalchemy import text

        inspector = inspect(self.engine)
        with self.engine.begin() as conn:
            for table in Base.metadata.sorted_tables:
                if not inspector.has_table(table.name):
                    continue
                present = {c["name"] for c in inspector.get_columns(table.name)}
                for column in table.columns:
                    if column.name in present or column.primary_key:
                        continue
                    ddl = column.type.compile(dialect=self.engine.dialect)
                    conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {ddl}'))

    def drop_all(self) -> None:
        Base.metadata.drop_all(self.engine)

    @contextmanager
    def session(self, tenant_id: str) -> Iterator[Session]:
        """A tenant session that commits on success and rolls back on any error."""
        if not tenant_id:
            raise Forbidden("A tenant is required")
        with self._transaction(tenant_id) as session:
            yield session

    @contextmanager
    def read_session(self, tenant_id: str) -> Iterator[Session]:
        """A tenant session for reads only. On PostgreSQL every statement commits on its own
        (no BEGIN / ROLLBACK round trips); what it writes is not one unit of work — write in
        ``session`` or ``run``. Errors as ``session``."""
        if not tenant_id:
            raise Forbidden("A tenant is required")
        with self._transaction(tenant_id, read_only=True) as session:
            yield session

    @contextmanager
    def admin_session(self) -> Iterator[Session]:
        """Unscoped: for tenant management and migrations only."""
        with self._transaction(None) as session:
            yield session

    def run(self, tenant_id: str | None, work: Callable[[Session], T], *, retry_conflicts: bool = False) -> T:
        """Run ``work(session)`` in one transaction (a tenant session, or unscoped for
        ``None``) and commit; on a transient error roll back and run it again, at most
        ``retry_attempts`` times. ``retry_conflicts``: a unique-constraint violation is
        retried too (for work that re-reads what a concurrent writer just stored).
        Raises ``StoreUnavailable`` when the error persists."""
        if tenant_id is not None and not tenant_id:
            raise Forbidden("A tenant is required")

        def attempt() -> T:
            with self._factory() as session:
                if tenant_id is not None:
                    session.info["tenant_id"] = tenant_id
                try:
                    result = work(session)
                    session.commit()
                    return result
                except BaseException:
                    session.rollback()
                    raise

        return self._retrying(attempt, retry_conflicts)

    def run_core(self, tenant_id: str, work: Callable[[CoreSession], T], *, retry_conflicts: bool = False) -> T:
        """``run`` for a unit of work of Core statements only: one transaction on a plain
        connection (``engine.begin()``), committed, with the same retries and errors. Without
        an ORM session's set-up, state tracking and flush before each statement, which cost
        more than the statements of a customer turn's writes (py-spy, docs/operations.md Pass 7)."""
        if not tenant_id:
            raise Forbidden("A tenant is required")

        def attempt() -> T:
            with self.engine.begin() as conn:
                return work(CoreSession(conn, tenant_id))

        return self._retrying(attempt, retry_conflicts)

    def _retrying(self, attempt: Callable[[], T], retry_conflicts: bool) -> T:
        """``attempt()`` (one transaction), run again after a transient error (or a unique
        constraint violation with ``retry_conflicts``), at most ``retry_attempts`` times."""
        last: BaseException | None = None
        for number in range(self.retry_attempts):
            if number:
                self._backoff(number)
            try:
                return attempt()
            except IntegrityError as exc:
                if not retry_conflicts:
                    raise
                last = exc
            except SQLAlchemyError as exc:
                if not is_transient(exc):
                    raise
                last = exc
            log.warning("database attempt %d of %d failed: %s", number + 1, self.retry_attempts, last)
        raise self._unavailable(last)

    def _backoff(self, attempt: int) -> None:
        delay = min(1.0, self.retry_base_s * (2 ** (attempt - 1)))
        time.sleep(delay * (0.5 + random.random()))  # noqa: S311  (jitter, not security)

    def _unavailable(self, exc: BaseException | None) -> StoreUnavailable:
        what = "locked" if exc is not None and "locked" in str(exc).lower() else "unavailable"
        error = StoreUnavailable(
            f"The database is {what} right now; nothing was saved. Please try again in a few seconds.",
            retry_after_s=max(1.0, self.busy_timeout_s),
        )
        error.__cause__ = exc
        return error

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A plain connection for a read of a few columns, rolled back afterwards. NOT
        tenant-scoped: each statement filters by tenant itself. A transient database error
        becomes ``StoreUnavailable``, as in ``session()``."""
        try:
            with self._read_engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            if is_transient(exc):
                raise self._unavailable(exc) from exc
            raise

    @contextmanager
    def read_core(self, tenant_id: str) -> Iterator[CoreSession]:
        """``reading`` bound to a tenant, for Core reads that filter on it themselves
        (``read_session`` without an ORM session). Errors as ``reading``."""
        if not tenant_id:
            raise Forbidden("A tenant is required")
        with self.reading() as conn:
            yield CoreSession(conn, tenant_id)

    @contextmanager
    def _transaction(self, tenant_id: str | None, *, read_only: bool = False) -> Iterator[Session]:
        try:
            with (self._read_factory if read_only else self._factory)() as session:
                if tenant_id is not None:
                    session.info["tenant_id"] = tenant_id
                if read_only:
                    session.info["read_only"] = True
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        except SQLAlchemyError as exc:
            if is_transient(exc):
                raise self._unavailable(exc) from exc
            raise

    # -- shared knowledge-base state --------------------------------------------------------

    def kb_generation(self, tenant_id: str) -> int:
        """The tenant's KB change counter (0 before any change); one indexed read, or none
        inside ``tenant_snapshot()`` once the tenant's row was read there (the counter as of
        that read: one customer turn searches one state of the KB)."""
        snapshot = _SNAPSHOT.get()
        row = snapshot.get((id(self), tenant_id)) if snapshot is not None else None
        if row is not None:
            return row[2]
        with self._read_engine.connect() as conn:
            value = conn.execute(_KB_GENERATION, {"tenant_id": tenant_id}).scalar()
        return int(value or 0)

    def bump_kb_generation(self, tenant_id: str) -> int:
        """Count one KB change of the tenant (atomic in the database); returns the new value."""

        def bump(session: Session) -> int:
            done = session.execute(
                update(KbState).where(KbState.tenant_id == tenant_id).values(generation=KbState.generation + 1)
            )
            if not getattr(done, "rowcount", 0):
                session.add(KbState(tenant_id=tenant_id, generation=1))
                session.flush()
            return int(session.scalar(select(KbState.generation).where(KbState.tenant_id == tenant_id)) or 0)

        generation = self.run(None, bump, retry_conflicts=True)
        snapshot, key = _SNAPSHOT.get(), (id(self), tenant_id)
        kept = snapshot.get(key) if snapshot is not None else None
        if snapshot is not None and kept is not None:
            snapshot[key] = (kept[0], kept[1], generation)
        return generation

    def ensure_tenant(self, tenant_id: str, name: str = "", config: dict[str, Any] | None = None) -> None:
        with self.admin_session() as s:
            row = s.get(Tenant, tenant_id)
            if row is None:
                s.add(Tenant(id=tenant_id, name=name or tenant_id, config=config or {}))
            elif config is not None:
                row.config = config

    def tenant_config(self, tenant_id: str) -> dict[str, Any]:
        """The tenant's stored configuration (a copy; ``{}`` for an unknown tenant)."""
        row = self.tenant_row(tenant_id)
        return row[1] if row is not None else {}

    def tenant_row(self, tenant_id: str) -> tuple[str, dict[str, Any]] | None:
        """The tenant's ``(name, configuration)`` (the configuration a copy), None for an
        unknown tenant. One read of the database, or none inside ``tenant_snapshot()`` once
        the tenant was read there."""
        snapshot, key = _SNAPSHOT.get(), (id(self), tenant_id)
        if snapshot is not None and key in snapshot:
            row = snapshot[key]
        else:
            with self.reading() as conn:  # three columns, no ORM session: this runs on every request
                found = conn.execute(_TENANT_ROW, {"tenant_id": tenant_id}).first()
                row = (
                    (found.name, self._config_of(tenant_id, found.config), int(found.generation or 0))
                    if found is not None
                    else None
                )
            if snapshot is not None:
                snapshot[key] = row
        return (row[0], dict(row[1])) if row is not None else None

    def _config_of(self, tenant_id: str, text: str | None) -> dict[str, Any]:
        """The tenant's configuration from its stored JSON text, parsed again only when the
        text differs from the one last parsed for this tenant (a tenant's configuration is
        read on every request and turn; parsing it cost as much as reading it). The dict is
        shared: ``tenant_row`` hands out shallow copies, and no reader changes a nested value.
        Thread-safe (a lost race parses twice)."""
        if text is None:
            return {}
        kept = self._configs.get(tenant_id)
        if kept is not None and kept[0] == text:
            return kept[1]
        config = dict(json.loads(text) or {})
        self._configs[tenant_id] = (text, config)
        return config

    @contextmanager
    def tenant_snapshot(self) -> Iterator[None]:
        """Within the block (this thread or task only), each tenant's row is read from the
        database once: one customer turn sees one configuration, however many of its steps
        ask for it. Nested blocks share the outer snapshot. A change stored meanwhile is
        seen by the next block."""
        if _SNAPSHOT.get() is not None:
            yield
            return
        token = _SNAPSHOT.set({})
        try:
            yield
        finally:
            _SNAPSHOT.reset(token)

    def dispose(self) -> None:
        self.engine.dispose()


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Pessimistic disconnect handling for connections that sat idle: a connection returned
    to the pool at least ``idle_s`` seconds ago is pinged at checkout, and a dead one is
    replaced (``DisconnectionError``: the pool connects again, up to three times) — as
    ``pool_pre_ping`` does, without its round trip on every checkout of a busy pool (five
    per customer turn, a third of a turn's statements on PostgreSQL). A connection that dies
    while in use, or within ``idle_s`` of its last use (a restart or failover), fails its
    statement; SQLAlchemy then invalidates the pool's older connections, ``Store.run`` runs
    the unit of work again (``is_transient``), and a plain read (``reading``, ``read_session``,
    ``session``) answers 503 with ``Retry-After`` once, which the widget retries.
    SQLAlchemy, "Dealing with Disconnects": custom pessimistic ping on checkout."""

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _handed_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_s:
            return  # new, or back in the pool a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001  (any failure means: not usable)
            raise DisconnectionError(f"idle database connection is gone: {exc}") from exc
        if not alive:
            raise DisconnectionError("idle database connection is gone")


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


STORES: Registry[Store] = Registry("store")
STORES.register("sqlalchemy", Store)
