"""``server/access.py``: what the role guard keeps in memory, and for how long."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from core.db.conversations import create_conversation
from core.db.store import Store
from core.errors import NotFound
from server.access import AccessCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 'sb.db'}")
    s.create_all()
    s.ensure_tenant("t1", "One", {"widget_secret_env": "A"})
    return s


def _statements(store: Store) -> list[str]:
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_a_tenant_configuration_is_read_again_after_the_ttl_or_at_once_when_forgotten(store: Store) -> None:
    clock = Clock()
    access = AccessCache(store, config_ttl_s=2.0, clock=clock)
    assert access.config("t1") == {"widget_secret_env": "A"}
    store.ensure_tenant("t1", "One", {"widget_secret_env": "B"})  # another worker's change
    reads = _statements(store)
    assert access.config_cached("t1") == {"widget_secret_env": "A"}
    assert access.config("t1") == {"widget_secret_env": "A"} and reads == []  # within the TTL: no read
    clock.now += 2.0
    assert access.config_cached("t1") is None
    assert access.config("t1") == {"widget_secret_env": "B"} and len(reads) == 1
    store.ensure_tenant("t1", "One", {"widget_secret_env": "C"})
    access.forget("t1")  # this worker's own change (Services.tenant_changed)
    assert access.config("t1") == {"widget_secret_env": "C"}


def test_an_unknown_tenant_reads_as_empty_and_is_not_kept(store: Store) -> None:
    # The tenant id comes from a token whose signature is not checked yet: keeping every id
    # anyone sends would let an anonymous caller grow this worker's memory without bound.
    access = AccessCache(store)
    reads = _statements(store)
    for n in range(3):
        assert access.config(f"nobody-{n}") == {}
        assert access.config(f"nobody-{n}") == {}
        assert access.config_cached(f"nobody-{n}") is None
    assert len(reads) == 6
    store.ensure_tenant("t2", "Two", {})  # a tenant that exists is kept, even with an empty configuration
    assert access.config("t2") == {} and access.config_cached("t2") == {}


def test_a_conversation_owner_is_read_once_and_a_missing_one_every_time(store: Store) -> None:
    with store.session("t1") as s:
        conv = create_conversation(s, "cus_1")
        conv.visitor_id = "v1"
        conv_id = conv.id
    access = AccessCache(store)
    reads = _statements(store)
    assert access.owner_cached("t1", conv_id) is None
    assert access.owner("t1", conv_id) == ("cus_1", "v1")
    assert access.owner("t1", conv_id) == ("cus_1", "v1")
    assert access.owner_cached("t1", conv_id) == ("cus_1", "v1")
    assert len(reads) == 1
    with pytest.raises(NotFound):
        access.owner("t2", conv_id)  # another tenant's: 404, whatever this process holds
    with pytest.raises(NotFound):
        access.owner("t2", conv_id)
    assert len(reads) == 3 and access.owner_cached("t2", conv_id) is None


def test_owners_are_bounded_and_the_least_recent_goes_first(store: Store) -> None:
    access = AccessCache(store, max_conversations=2)
    access.remember("t1", "a", ("c", None))
    access.remember("t1", "b", ("c", None))
    assert access.owner_cached("t1", "a") == ("c", None)  # "a" used: "b" is now the oldest
    access.remember("t1", "c", ("c", None))
    assert access.owner_cached("t1", "b") is None
    assert access.owner_cached("t1", "a") == ("c", None) and access.owner_cached("t1", "c") == ("c", None)
    access.forget("t1")
    assert access.owner_cached("t1", "a") is None


def test_negative_sizes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        AccessCache(store, config_ttl_s=-1)
