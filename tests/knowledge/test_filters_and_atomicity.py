"""Tenant and visibility filters never leak (in either index, in any mode), and a version
swap is atomic for a search running at the same time: never both versions, never neither."""

from __future__ import annotations

import threading

import pytest

from core.types import Author, Turn, Visibility
from knowledge.documents import Document
from knowledge.index.base import Filters
from server.container import Services
from tests.conftest import TENANT

PUBLIC = frozenset({Visibility.public})
ALL = frozenset({Visibility.public, Visibility.internal})
OTHER = "other-shop"


def _load(services: Services) -> None:
    services.store.ensure_tenant(OTHER, "Other shop", {})
    services.kb.load_documents(
        TENANT,
        [
            Document(id="refunds", title="Refunds", body="# Refunds\n\nRefunds reach your card in 5 days."),
            Document(
                id="refund-limits",
                title="Refund limits for agents",
                body="# Refund limits for agents\n\nAgents may refund up to 50 euros without a supervisor.",
                visibility=Visibility.internal,
            ),
        ],
    )
    services.kb.load_documents(
        OTHER, [Document(id="refunds-other", title="Refunds", body="# Refunds\n\nOther shop refunds in 30 days.")]
    )


@pytest.mark.parametrize("mode", ["keyword", "dense", "hybrid"])
def test_filters_never_leak(services: Services, mode: str) -> None:
    _load(services)
    retriever = services.retriever.with_mode(mode)
    for query in ("refund limits for agents supervisor", "refunds", "other shop refunds in 30 days"):
        public = retriever.search(query, k=10, filters=Filters(TENANT, PUBLIC))
        assert {p.visibility for p in public} <= {Visibility.public}
        assert "refund-limits" not in {p.article_id for p in public}
        mine = retriever.search(query, k=10, filters=Filters(TENANT, ALL))
        assert "refunds-other" not in {p.article_id for p in mine}
        theirs = retriever.search(query, k=10, filters=Filters(OTHER, ALL))
        assert {p.article_id for p in theirs} <= {"refunds-other"}
    staff = retriever.search("refund limits for agents supervisor", k=10, filters=Filters(TENANT, ALL))
    assert "refund-limits" in {p.article_id for p in staff}


def test_context_gives_public_passages_and_only_this_customers_facts(demo_services: Services) -> None:
    turns = [Turn(author=Author.customer, text="What are the agent refund approval limits?")]
    ctx = demo_services.context.context(TENANT, turns, customer_id="cus_001")
    assert ctx.passages and all(p.visibility == Visibility.public for p in ctx.passages)
    assert ctx.customer is not None and ctx.customer.customer_id == "cus_001"
    assert all(o.id for o in ctx.customer.orders)
    other = demo_services.context.context(OTHER, turns, customer_id="cus_001")
    assert other.customer is None and other.passages == []  # another tenant knows neither


def test_version_swap_is_atomic_for_concurrent_searches(services: Services) -> None:
    def body(v: int) -> str:
        # Three sections, so a version has several chunks that must appear or vanish together.
        return "\n\n".join(f"## Part {n}\n\nKettle descaling guide version{v} step {n}." for n in range(3))

    services.kb.load_documents(TENANT, [Document(id="kettle", title="Kettle", body=body(0))])
    filters = Filters(TENANT, ALL)
    retrievers = [services.retriever.with_mode(m) for m in ("keyword", "dense", "hybrid")]
    stop = threading.Event()
    seen: list[set[int]] = []
    failures: list[str] = []

    def searcher() -> None:
        while not stop.is_set():
            for retriever in retrievers:
                passages = retriever.search("kettle descaling guide", k=10, filters=filters)
                versions = {p.version for p in passages if p.article_id == "kettle"}
                counts = len([p for p in passages if p.article_id == "kettle"])
                seen.append(versions)
                if len(versions) != 1 or counts != 3:
                    failures.append(f"{retriever.mode}: versions {versions}, {counts} chunks")

    threads = [threading.Thread(target=searcher) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for v in range(1, 9):
            report = services.kb.load_documents(TENANT, [Document(id="kettle", title="Kettle", body=body(v))])
            assert report.updated == ["kettle"]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures, failures[:5]
    assert len({next(iter(v)) for v in seen if v}) > 1  # the searches really ran across swaps
    assert {c.version for c in services.index.chunks(TENANT)} == {9}
