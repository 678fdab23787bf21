"""The suggestion path's shortcuts keep its results: chunk vectors searched in memory give
the index's chunks and follow a KB edit at once; per-tenant values rebuilt in the
background are served meanwhile."""

from __future__ import annotations

import threading
import time

import numpy as np

from copilot.refresh import Refreshing
from copilot.shelf import ShelvedIndex
from core.types import Author, Turn, Visibility
from knowledge.context import ALL, PUBLIC
from knowledge.documents import Document
from knowledge.index.base import Filters
from server.container import Services

TENANT = "shelfco"


def _docs(version_note: str = "") -> list[Document]:
    return [
        Document(id="returns", title="Returns", body=f"You can return an item within 30 days. {version_note}".strip()),
        Document(id="shipping", title="Shipping", body="Parcels arrive in three to five working days."),
        Document(
            id="vouchers",
            title="Goodwill vouchers",
            body="Agents may give a voucher of up to 20 euros.",
            visibility=Visibility.internal,
        ),
    ]


def _ids(found: list[tuple[object, float]]) -> list[str]:
    return [c.id for c, _ in found]  # type: ignore[attr-defined]


def test_the_shelf_gives_the_index_results_and_follows_a_kb_edit(services: Services) -> None:
    services.store.ensure_tenant(TENANT, "Shelf Co", {})
    assert not services.kb.load_documents(TENANT, _docs()).errors
    live = services.retriever.live
    assert live is not None
    shelf = ShelvedIndex(services.index)
    view = live.view(TENANT)
    assert shelf.build(TENANT, view.generation)
    vector = services.embedder.embed(["how long do I have to return an item"])[0]
    for visibilities in (ALL, PUBLIC):
        filters = Filters(TENANT, visibilities, live=view)
        mine, theirs = _ids(shelf.query(vector, 3, filters)), _ids(services.index.query(vector, 3, filters))
        assert mine[0] == theirs[0] and set(mine) == set(theirs)  # (unrelated chunks may tie)
    assert all(c.visibility == Visibility.public for c, _ in shelf.query(vector, 3, Filters(TENANT, PUBLIC, live=view)))

    # An edit makes a new live version: the old shelf is never searched again.
    assert not services.kb.load_documents(TENANT, _docs("Sale items too.")).errors
    edited = live.view(TENANT)
    assert edited.generation != view.generation
    filters = Filters(TENANT, ALL, live=edited)
    first = shelf.query(vector, 3, filters)  # the index answers while the shelf is rebuilt
    assert "Sale items too." in next(c.text for c, _ in first if c.article_id == "returns")
    deadline = time.monotonic() + 10
    while shelf.shelf(TENANT, edited.generation) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    shelved = _ids(shelf.query(vector, 3, filters))
    assert shelved[0] == _ids(first)[0] and set(shelved) == set(_ids(first))
    stored = services.index.vectors(TENANT, [c.id for c, _ in first])
    assert all(np.allclose(shelf.vectors(TENANT, [cid])[cid], v, atol=1e-5) for cid, v in stored.items())


def test_copilot_suggestions_are_the_same_with_and_without_the_shelf(demo_services: Services) -> None:
    copilot = demo_services.copilot
    live = copilot.retriever.live
    assert live is not None and isinstance(copilot.retriever.index, ShelvedIndex)
    assert copilot.retriever.index.build("larkspur", live.view("larkspur").generation)
    conversations = [
        [Turn(author=Author.customer, text="How long do I have to return an item I bought?")],
        [
            Turn(author=Author.customer, text="My parcel never arrived."),
            Turn(author=Author.agent, text="I'm sorry. I can see the carrier marked it delivered."),
            Turn(author=Author.customer, text="Can I get my money back then?"),
        ],
    ]
    copilot.shelf_chunks = 20_000
    with_shelf = [
        copilot.suggest("larkspur", t, customer_id=None, message_seq=len(t)).article_ids for t in conversations
    ]
    without = copilot.__class__(
        demo_services.context, shelf_chunks=0, advisor=copilot.advisor, article_count=copilot.article_count
    )
    assert not isinstance(without.retriever.index, ShelvedIndex)
    plain = [without.suggest("larkspur", t, customer_id=None, message_seq=len(t)).article_ids for t in conversations]
    assert with_shelf == plain and all(with_shelf)


def test_an_expired_value_is_served_while_it_is_rebuilt_in_the_background() -> None:
    release = threading.Event()
    builds: list[str] = []

    def build(tenant: str, previous: str | None) -> str:
        if previous is not None:
            release.wait(5)
        builds.append(tenant)
        return f"v{len(builds)}"

    values: Refreshing[str] = Refreshing(build, ttl_s=0.0)
    assert values.get("t") == "v1"  # the first value is built in line
    started = time.monotonic()
    assert values.get("t") == "v1"  # expired: served as it is, rebuilt behind
    assert values.get("t") == "v1"  # one rebuild at a time
    assert time.monotonic() - started < 1.0
    values.ttl_s = 3600.0
    release.set()
    deadline = time.monotonic() + 5
    while values.get("t") == "v1" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert values.get("t") == "v2" and builds == ["t", "t"]
    values.forget("t")
    assert values.get("t") == "v3"  # forgotten: built in line again


def test_warming_builds_the_tenants_shelf_off_the_request_path(demo_services: Services) -> None:
    copilot = demo_services.copilot
    live = copilot.retriever.live
    assert live is not None and isinstance(copilot.retriever.index, ShelvedIndex)
    generation = live.view("larkspur").generation
    assert copilot.retriever.index._shelves.get("larkspur") is None
    demo_services.live_assist.warm("larkspur")
    deadline = time.monotonic() + 30
    while copilot.retriever.index._shelves.get("larkspur") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    shelf = copilot.retriever.index._shelves.get("larkspur")
    assert shelf is not None and shelf.generation == generation and shelf.chunks


def test_the_shelf_keeps_the_most_recently_searched_tenants(services: Services) -> None:
    live = services.retriever.live
    assert live is not None
    shelf = ShelvedIndex(services.index, max_tenants=1)
    for tenant in ("shelf-a", "shelf-b"):
        services.store.ensure_tenant(tenant, tenant, {})
        assert not services.kb.load_documents(tenant, _docs()).errors
        assert shelf.build(tenant, live.view(tenant).generation)
    assert shelf.shelf("shelf-b", live.view("shelf-b").generation) is not None
    assert list(shelf._shelves) == ["shelf-b"]  # shelf-a was dropped; it is rebuilt when searched again
    vector = services.embedder.embed(["return an item"])[0]
    view = live.view("shelf-a")
    filters = Filters("shelf-a", ALL, live=view)
    assert _ids(shelf.query(vector, 1, filters)) == _ids(services.index.query(vector, 1, filters)) == ["returns::v1::0"]
