"""Contract tests every backend of a seam must pass (Haystack style).

Subclass a contract and provide its fixture; the tests come with it::

    class TestInProcessBus(EventBusContract):
        @pytest.fixture
        def bus(self) -> Iterator[EventBus]: ...

    class TestSqliteStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path) -> Iterator[Store]: ...

The in-process bus and SQLite run in the unit suite (tests/core/test_contracts.py); Redis and
PostgreSQL run the same classes in tests/integration/.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update

from core.db.conversations import add_message, audit, create_conversation, get_conversation, list_messages
from core.db.schema import AuditEntry, Conversation, Customer, Message
from core.db.store import Store
from core.errors import Forbidden, NotFound
from core.events import Event, EventBus
from core.types import Author

RECEIVE_TIMEOUT_S = 5.0


def unique_topic(label: str = "t") -> str:
    """Topics are global on a shared Redis: never reuse one across tests or runs."""
    return f"contract-{uuid.uuid4().hex[:12]}:{label}"


def event(type_: str = "message", n: int = 0, **data: object) -> Event:
    return Event(type=type_, tenant_id="acme", conversation_id="c1", data={"n": n, **data})


async def next_event(events: AsyncIterator[Event], timeout: float = RECEIVE_TIMEOUT_S) -> Event:
    """The next event that is not a subscription probe."""
    while True:
        got = await asyncio.wait_for(anext(events), timeout)
        if got.type != "probe":
            return got


async def until_subscribed(bus: EventBus, topic: str, events: AsyncIterator[Event]) -> None:
    """Publish probes until one comes back: a remote bus may confirm a subscription late."""
    for _ in range(50):
        bus.publish(topic, Event(type="probe", tenant_id="acme"))
        try:
            got = await asyncio.wait_for(anext(events), 0.2)
        except TimeoutError:
            continue
        if got.type == "probe":
            return
    raise AssertionError(f"the subscription to {topic!r} never received a probe")


@pytest.mark.asyncio
class EventBusContract:
    """What the server relies on from any ``EventBus``. Provide a ``bus`` fixture and a
    ``second_bus`` fixture (another instance on the same backend - another worker)."""

    async def test_a_subscriber_receives_what_is_published_on_its_topic(self, bus: EventBus) -> None:
        topic = unique_topic()
        async with bus.subscribe(topic) as events:
            await until_subscribed(bus, topic, events)
            sent = event("message", 1, text="Hello ✓ – ünïcode", citations=[{"n": 1, "url": "https://x"}])
            bus.publish(topic, sent)
            got = await next_event(events)
        assert got == sent  # every field survives the trip, including nested data and the timestamp

    async def test_events_arrive_in_publish_order(self, bus: EventBus) -> None:
        topic = unique_topic()
        async with bus.subscribe(topic) as events:
            await until_subscribed(bus, topic, events)
            for n in range(20):
                bus.publish(topic, event("token", n))
            received = [(await next_event(events)).data["n"] for _ in range(20)]
        assert received == list(range(20))

    async def test_one_event_published_to_several_topics_reaches_each_in_order(self, bus: EventBus) -> None:
        first, second = unique_topic("agent"), unique_topic("customer")
        async with bus.subscribe(first) as a, bus.subscribe(second) as b:
            await until_subscribed(bus, first, a)
            await until_subscribed(bus, second, b)
            for n in range(3):
                bus.publish_many([first, second], event("message", n, text="both"))
            got_a = [await next_event(a) for _ in range(3)]
            got_b = [await next_event(b) for _ in range(3)]
        assert [e.data["n"] for e in got_a] == [e.data["n"] for e in got_b] == [0, 1, 2]
        assert got_a == got_b

    async def test_other_topics_are_not_delivered(self, bus: EventBus) -> None:
        mine, other = unique_topic("mine"), unique_topic("other")
        async with bus.subscribe(mine) as events:
            await until_subscribed(bus, mine, events)
            bus.publish(other, event("message", 1))
            bus.publish(mine, event("message", 2))
            got = await next_event(events)
        assert got.data["n"] == 2

    async def test_every_subscriber_of_a_topic_gets_every_event(self, bus: EventBus) -> None:
        topic = unique_topic()
        async with bus.subscribe(topic) as first, bus.subscribe(topic) as second:
            await until_subscribed(bus, topic, first)
            await until_subscribed(bus, topic, second)
            bus.publish(topic, event("state", 7))
            got = [await next_event(first), await next_event(second)]
        assert [e.data["n"] for e in got] == [7, 7]

    async def test_publishing_from_a_worker_thread_reaches_the_event_loop(self, bus: EventBus) -> None:
        # Bot turns run in threads and publish tokens from there.
        topic = unique_topic()
        async with bus.subscribe(topic) as events:
            await until_subscribed(bus, topic, events)
            worker = threading.Thread(target=lambda: [bus.publish(topic, event("token", n)) for n in range(3)])
            worker.start()
            received = [(await next_event(events)).data["n"] for _ in range(3)]
            worker.join()
        assert received == [0, 1, 2]

    async def test_another_instance_sees_the_events(self, bus: EventBus, second_bus: EventBus) -> None:
        """Several workers: what one publishes, a subscriber on the other receives. The
        in-process bus shares nothing between instances, so its fixture returns the same bus."""
        topic = unique_topic()
        async with second_bus.subscribe(topic) as events:
            await until_subscribed(bus, topic, events)
            bus.publish(topic, event("handoff", 3))
            got = await next_event(events)
        assert (got.type, got.data["n"]) == ("handoff", 3)

    async def test_publishing_without_subscribers_or_after_leaving_is_harmless(self, bus: EventBus) -> None:
        topic = unique_topic()
        bus.publish(topic, event())  # nobody listens: dropped, no error
        async with bus.subscribe(topic) as events:
            await until_subscribed(bus, topic, events)
        bus.publish(topic, event())  # the subscriber left
        async with bus.subscribe(topic) as events:  # a new subscriber starts fresh
            await until_subscribed(bus, topic, events)
            bus.publish(topic, event("message", 9))
            assert (await next_event(events)).data["n"] == 9


class StoreContract:
    """What every ``Store`` URL must do: tenant scoping that callers cannot forget, all-or-
    nothing sessions, and the conversation data round-tripping intact. Provide ``store``
    (schema created, empty)."""

    def test_tenant_sessions_only_see_their_own_rows(self, store: Store) -> None:
        with store.session("acme") as s:
            s.add(Customer(external_id="cus_1", name="Ada Acme"))
            create_conversation(s, "cus_1")
        with store.session("globex") as s:
            s.add(Customer(external_id="cus_1", name="Gil Globex"))  # same external id, other tenant
        with store.session("globex") as s:
            assert [c.name for c in s.scalars(select(Customer))] == ["Gil Globex"]
            assert list(s.scalars(select(Conversation))) == []
        with store.session("acme") as s:
            assert [c.name for c in s.scalars(select(Customer))] == ["Ada Acme"]

    def test_bulk_updates_and_deletes_stay_inside_the_tenant(self, store: Store) -> None:
        for tenant in ("acme", "globex"):
            with store.session(tenant) as s:
                s.add(Customer(external_id="cus_1", name=f"{tenant} customer", tier="standard"))
        with store.session("globex") as s:
            s.execute(update(Customer).values(tier="gold"))
            s.query(Customer).delete()
        with store.session("acme") as s:
            [row] = s.scalars(select(Customer))
            assert (row.name, row.tier) == ("acme customer", "standard")

    def test_another_tenants_conversation_is_not_found(self, store: Store) -> None:
        with store.session("acme") as s:
            conv_id = create_conversation(s, "cus_1").id
        with store.session("globex") as s, pytest.raises(NotFound):
            get_conversation(s, conv_id)

    def test_a_row_for_another_tenant_is_refused_and_nothing_is_written(self, store: Store) -> None:
        with pytest.raises(Forbidden), store.session("acme") as s:
            s.add(Customer(external_id="ok", name="Fine"))
            s.add(Customer(external_id="x", name="Smuggled", tenant_id="globex"))
        for tenant in ("acme", "globex"):
            with store.session(tenant) as s:
                assert list(s.scalars(select(Customer))) == []

    def test_a_failed_session_stores_nothing_half_way(self, store: Store) -> None:
        with store.session("acme") as s:
            conv = create_conversation(s, None)
            add_message(s, conv, Author.customer, "hi")
            conv_id = conv.id
        with pytest.raises(RuntimeError), store.session("acme") as s:
            conv = get_conversation(s, conv_id)
            add_message(s, conv, Author.bot, "half an answer")
            conv.state = "human"
            audit(s, "bot", "conversation.handoff", conv_id)
            raise RuntimeError("crash before commit")
        with store.session("acme") as s:
            conv = get_conversation(s, conv_id)
            assert conv.state == "bot"
            assert [m.text for m in list_messages(s, conv_id)] == ["hi"]
            assert list(s.scalars(select(AuditEntry))) == []

    def test_conversation_data_round_trips(self, store: Store) -> None:
        meta = {"citations": [{"n": 1, "title": "Rückgabe – 30 Tage", "version": 2}], "grounding": 0.91}
        with store.session("acme") as s:
            conv = create_conversation(s, "cus_7", language="de")
            conv.memory = {"bot": {"tried": ["answered from KB"], "no_answer_streak": 0}}
            for i, author in enumerate([Author.customer, Author.bot, Author.agent]):
                add_message(s, conv, author, f"message {i} — ✓", meta if author is Author.bot else None)
            conv_id = conv.id
        with store.session("acme") as s:
            conv = get_conversation(s, conv_id)
            messages = list_messages(s, conv_id)
            assert (conv.customer_id, conv.language, conv.state) == ("cus_7", "de", "bot")
            assert conv.memory == {"bot": {"tried": ["answered from KB"], "no_answer_streak": 0}}
            assert [(m.seq, m.author, m.text) for m in messages] == [
                (1, "customer", "message 0 — ✓"),
                (2, "bot", "message 1 — ✓"),
                (3, "agent", "message 2 — ✓"),
            ]
            assert messages[1].meta == meta
            assert all(m.tenant_id == "acme" for m in messages)
            assert conv.created_at is not None and conv.updated_at is not None

    def test_tenants_are_created_once_and_their_config_updated(self, store: Store) -> None:
        store.ensure_tenant("acme", "Acme", {"site_secret": "one", "languages": ["en"]})
        store.ensure_tenant("acme", "Acme")  # no config: keeps the old one
        assert store.tenant_config("acme") == {"site_secret": "one", "languages": ["en"]}
        store.ensure_tenant("acme", "Acme", {"site_secret": "two"})
        assert store.tenant_config("acme") == {"site_secret": "two"}
        assert store.tenant_config("nobody") == {}

    def test_an_empty_tenant_is_refused(self, store: Store) -> None:
        with pytest.raises(Forbidden), store.session("") as s:
            s.scalars(select(Message))
