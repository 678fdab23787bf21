from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.db.conversations import add_message, create_conversation, get_conversation
from core.db.schema import Conversation, Customer
from core.db.store import Store
from core.errors import Forbidden, NotFound
from core.types import Author


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 't.db'}")
    s.create_all()
    return s


def test_tenant_sessions_never_see_other_tenants_rows(store: Store) -> None:
    with store.session("a") as s:
        s.add(Customer(external_id="cus_1", name="Alice A"))
        create_conversation(s, "cus_1")
    with store.session("b") as s:
        s.add(Customer(external_id="cus_1", name="Bob B"))
    with store.session("b") as s:
        names = [c.name for c in s.scalars(select(Customer))]
        assert names == ["Bob B"]
        assert list(s.scalars(select(Conversation))) == []


def test_conversation_of_another_tenant_is_not_found(store: Store) -> None:
    with store.session("a") as s:
        conv_id = create_conversation(s, None).id
    with store.session("b") as s, pytest.raises(NotFound):
        get_conversation(s, conv_id)


def test_writing_a_row_for_another_tenant_is_refused(store: Store) -> None:
    with pytest.raises(Forbidden), store.session("a") as s:
        s.add(Customer(external_id="x", name="X", tenant_id="b"))
    with store.session("b") as s:
        assert list(s.scalars(select(Customer))) == []


def test_messages_are_numbered_in_order_and_rollback_keeps_nothing(store: Store) -> None:
    with store.session("a") as s:
        conv = create_conversation(s, None)
        first = add_message(s, conv, Author.customer, "hi")
        second = add_message(s, conv, Author.bot, "hello")
        conv_id = conv.id
    assert (first.seq, second.seq) == (1, 2)
    with pytest.raises(RuntimeError), store.session("a") as s:
        add_message(s, get_conversation(s, conv_id), Author.customer, "half-way")
        raise RuntimeError("crash before commit")
    with store.session("a") as s:
        assert [m.text for m in get_conversation(s, conv_id).messages] == ["hi", "hello"]


def test_a_turn_reads_the_tenant_and_its_kb_generation_in_one_statement(store: Store, tmp_path: Path) -> None:
    """Inside ``tenant_snapshot`` the tenant's row carries its KB generation: searches of one
    turn ask the database nothing more; another worker's KB change is seen by the next turn."""
    from sqlalchemy import event

    store.ensure_tenant("t1", config={"a": 1})
    other = Store(store.url)  # another worker on the same database
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert store.kb_generation("t1") == 0
    with store.tenant_snapshot():
        statements.clear()
        assert store.tenant_row("t1") == ("t1", {"a": 1})
        other.bump_kb_generation("t1")
        assert store.kb_generation("t1") == 0  # this turn's state of the KB
        assert store.tenant_config("t1") == {"a": 1}
        assert len(statements) == 1
        assert store.bump_kb_generation("t1") == 2  # this worker's own change is seen at once
        assert store.kb_generation("t1") == 2
    with store.tenant_snapshot():
        other.bump_kb_generation("t1")
        store.tenant_row("t1")
        assert store.kb_generation("t1") == 3
    assert store.kb_generation("t1") == 3
    assert store.kb_generation("unknown") == 0
    other.dispose()


def test_a_read_session_refuses_to_write(store: Store) -> None:
    from core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="cannot write"), store.read_session("t1") as s:
        s.add(Customer(external_id="c-new", name="New"))
        s.flush()
    with store.session("t1") as s:
        assert s.scalars(select(Customer)).all() == []


def test_a_tenant_configuration_is_parsed_again_only_when_its_stored_text_changes(store: Store) -> None:
    """The tenant's row is read on every turn; its JSON is parsed once per stored text: a
    change (this worker's or another's) is seen by the next read, an unchanged one is not
    parsed again. Readers get copies."""
    other = Store(store.url)  # another worker on the same database
    store.ensure_tenant("t1", config={"a": [1, 2]})
    first = store.tenant_config("t1")
    first["b"] = 1  # a reader's change to its copy stays its own
    assert store.tenant_config("t1") == {"a": [1, 2]}
    kept = store._configs["t1"]
    store.tenant_config("t1")
    assert store._configs["t1"] is kept  # same text: not parsed again
    other.ensure_tenant("t1", config={"a": [1, 3]})
    assert store.tenant_row("t1") == ("t1", {"a": [1, 3]})
    store.ensure_tenant("t1", config={})
    assert store.tenant_config("t1") == {}
    assert store.tenant_row("unknown") is None
    other.dispose()


@pytest.mark.parametrize("step", ["CREATE TABLE", "ALTER TABLE"])
def test_workers_starting_at_once_all_start_on_a_new_or_older_database(tmp_path: Path, step: str) -> None:
    """``uvicorn --workers 4`` starts every worker at the same moment, each one creating the
    schema (``Store.create_all``): a worker whose CREATE TABLE or ADD COLUMN another worker ran
    first must start all the same (before: "table tenants already exists" / "duplicate column
    name: waiting_since", and that worker failed)."""
    from sqlalchemy import event, inspect, text

    url = f"sqlite:///{tmp_path / 'w.db'}"
    if step == "ALTER TABLE":  # a database from before conversations.waiting_since
        older = Store(url)
        older.create_all()
        with older.engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_conversations_waiting"))
            conn.execute(text("ALTER TABLE conversations DROP COLUMN waiting_since"))
        older.dispose()
    first, other = Store(url), Store(url)
    raced: list[str] = []

    def other_worker_first(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith(step) and not raced:
            raced.append(statement)
            other.create_all()  # the other worker, a moment faster

    event.listen(first.engine, "before_cursor_execute", other_worker_first)
    first.create_all()
    assert raced
    found = inspect(first.engine)
    assert "waiting_since" in {c["name"] for c in found.get_columns("conversations")}
    assert "ix_conversations_waiting" in {i["name"] for i in found.get_indexes("conversations")}
    first.dispose()
    other.dispose()
