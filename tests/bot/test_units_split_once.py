"""A passage is split into answer units once per process; every call still gets units of its own,
numbered for their place in that call's list."""

from __future__ import annotations

from bot.compose.render import ValueFormatter
from bot.compose.units import _render_account, from_account, from_passages
from core.types import CustomerFacts, OrderFact, Passage

RETURNS = Passage(
    chunk_id="c1", article_id="returns", version=1, title="Returns", url="/returns", section="How to return",
    text="You have 30 days to return an item.\n\n1. Open your order.\n2. Choose **Return**.\n\n"
    "| Item | Refund |\n|---|---|\n| Shoes | £5 fee |\n| Books | free |",
)
SHIPPING = Passage(
    chunk_id="c2", article_id="shipping", version=3, title="Shipping", url="/shipping",
    text="Orders ship within 2 working days. Express delivery costs £4.99.",
)


def test_units_are_numbered_for_their_place_in_each_list() -> None:
    alone = from_passages([RETURNS])
    both = from_passages([SHIPPING, RETURNS])
    shipping = [u for u in both if u.article_id == "shipping"]
    returns = [u for u in both if u.article_id == "returns"]
    assert [u.position for u in both] == list(range(len(both)))
    assert {u.source for u in shipping} == {0} and {u.source for u in returns} == {1}
    assert [(u.kind, u.text, u.cells) for u in returns] == [(u.kind, u.text, u.cells) for u in alone]
    assert min(u.block for u in returns) > max(u.block for u in shipping)  # blocks never shared across passages
    # the numbered list and its steps share a block; the table rows share another
    steps = {u.block for u in returns if u.kind in ("step", "steps")}
    rows = {u.block for u in returns if u.kind == "row"}
    assert len(steps) == 1 and len(rows) == 1 and steps != rows
    assert [q.key for u in returns if u.kind == "row" for q in u.quantities]  # figures read ("£5")


def test_every_call_gets_its_own_units() -> None:
    first, second = from_passages([RETURNS]), from_passages([RETURNS])
    assert all(a is not b for a, b in zip(first, second, strict=True))
    first[0].source = 7  # a caller changing its copy changes nothing for the next one
    assert from_passages([RETURNS])[0].source == 0


def _customer(status: str = "shipped") -> CustomerFacts:
    return CustomerFacts(
        customer_id="c1", name="Ada", tier="gold",
        orders=[OrderFact(id="O-1", status=status, placed_at="2026-11-02", total=42.5, currency="EUR",
                          items=["Lamp"], shipped_at="2026-11-03")],
        attributes={"plan": {"name": "Flexi", "monthly_fee": 25.0}, "balance": -12.5},
    )


def test_a_customer_record_is_rendered_once_and_numbered_for_each_call() -> None:
    fmt = ValueFormatter("EUR", "en")
    first = from_account(_customer(), fmt, first_source=2)
    again = from_account(_customer(), fmt, first_source=5)
    assert first and {u.source for u in first} == {2} and {u.source for u in again} == {5}
    assert [(u.kind, u.text, u.section, u.position, u.block) for u in first] == [
        (u.kind, u.text, u.section, u.position, u.block) for u in again
    ]
    assert all(a is not b for a, b in zip(first, again, strict=True))
    assert any("€42.50" in u.text for u in first)  # rendered for the tenant's formatter
    # The same record rendered without the cache gives the same units.
    direct = _render_account(_customer(), fmt)
    assert [(u.text, u.cells, u.header) for u in first] == [(u.text, u.cells, u.header) for u in direct]


def test_a_changed_record_or_formatter_is_rendered_again() -> None:
    fmt = ValueFormatter("EUR", "en")
    shipped = " | ".join(u.text for u in from_account(_customer("shipped"), fmt, first_source=0))
    delivered = " | ".join(u.text for u in from_account(_customer("delivered"), fmt, first_source=0))
    assert "status: shipped" in shipped and "status: delivered" in delivered and "status: shipped" not in delivered
    german = " | ".join(u.text for u in from_account(_customer(), ValueFormatter("EUR", "de"), first_source=0))
    assert "€42.50" in shipped and "42,50" in german


def test_a_record_renders_as_it_is_not_as_its_json() -> None:
    """The cache renders the record itself: values JSON cannot carry (a stored NaN, a text cut
    inside an emoji: a lone surrogate, both readable from a JSON column) render as without the
    cache, and a record whose JSON cannot be written is rendered, not a failed turn."""
    fmt = ValueFormatter("EUR", "en")
    nan, inf = float("nan"), float("inf")
    for attributes, total in (
        ({"balance": None}, 1.0), ({"balance": nan}, 1.0), ({"balance": inf}, 1.0), ({"balance": -inf}, 1.0),
        ({"city": "Caf\ud83d"}, 1.0), ({}, inf), ({}, -inf),
    ):
        order = OrderFact(id="O-9", status="open", placed_at="2026-11-02", total=total)
        record = CustomerFacts(customer_id="c9", name="Bo", attributes=attributes, orders=[order])
        for _ in range(2):  # rendered, then from the cache
            cached = [(u.text, u.header, u.cells) for u in from_account(record, fmt, first_source=0)]
            assert cached == [(u.text, u.header, u.cells) for u in _render_account(record, fmt)], attributes
