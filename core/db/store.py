"""The ``Store`` seam: SQLite (default) and PostgreSQL through one SQLAlchemy schema.

``Store.session(tenant_id)`` opens a tenant session: every ORM SELECT, UPDATE and DELETE
in it gets ``tenant_id = :tenant`` added by the data layer, and every new row is stamped
with the tenant (a row for another tenant is refused). Callers cannot forget the filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria

from core.db.schema import Base, Tenant, TenantScoped
from core.errors import ConfigurationError, Forbidden
from core.registry import Registry


class TenantSession(Session):
    """A session bound to one tenant (``info["tenant_id"]``), or unscoped for admin work."""


@event.listens_for(TenantSession, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    tenant = state.session.info.get("tenant_id")
    if tenant is None:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant, include_aliases=True)
        )


@event.listens_for(TenantSession, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    tenant = session.info.get("tenant_id")
    if tenant is None:
        return
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, TenantScoped):
            if obj.tenant_id is None:
                obj.tenant_id = tenant
            elif obj.tenant_id != tenant:
                raise Forbidden(f"Refusing to write a row of tenant {obj.tenant_id!r} in a session of {tenant!r}")


class Store:
    """Engine + session factory. Create once per process and pass it in."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except Exception as exc:
            raise ConfigurationError(f"Bad database URL {url!r}: {exc}") from exc
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._factory = sessionmaker(self.engine, class_=TenantSession, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def create_all(self) -> None:
        """Create missing tables, and add columns that a newer schema has and an existing
        database lacks (additive upgrades only: new columns get their SQL default or NULL)."""
        Base.metadata.create_all(self.engine)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        from sqlalchemy import inspect, text

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
    def admin_session(self) -> Iterator[Session]:
        """Unscoped: for tenant management and migrations only."""
        with self._transaction(None) as session:
            yield session

    @contextmanager
    def _transaction(self, tenant_id: str | None) -> Iterator[Session]:
        with self._factory() as session:
            if tenant_id is not None:
                session.info["tenant_id"] = tenant_id
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def ensure_tenant(self, tenant_id: str, name: str = "", config: dict[str, Any] | None = None) -> None:
        with self.admin_session() as s:
            row = s.get(Tenant, tenant_id)
            if row is None:
                s.add(Tenant(id=tenant_id, name=name or tenant_id, config=config or {}))
            elif config is not None:
                row.config = config

    def tenant_config(self, tenant_id: str) -> dict[str, Any]:
        with self.admin_session() as s:
            row = s.get(Tenant, tenant_id)
            return dict(row.config) if row else {}

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


STORES: Registry[Store] = Registry("store")
STORES.register("sqlalchemy", Store)
