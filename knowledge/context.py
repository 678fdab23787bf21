"""The RAG layer: a conversation in, cited passages and this customer's facts out.

Bot and copilot both get their context here. The bot asks for public passages only;
the copilot (for agents) asks for public and internal ones.

``account_facts`` flattens the signed-in customer's own CRM record (custom attributes,
orders, tickets) into labelled facts the bot can answer from and cite as "your account".
Agent text (ticket notes, CRM notes, fields named like notes, comments, flags, internal
stages or codes) and secrets (dates of birth, bank and card details, passwords) never
become facts, and neither does a value shaped like an internal code ("D-28", "GW-SVC-01").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from babel.numbers import list_currencies

from core.db.store import Store
from core.errors import NotFound
from core.types import Context, CustomerFacts, Turn, Visibility
from knowledge.crm import customer_facts
from knowledge.index.base import Filters
from knowledge.retrievers.hybrid import HybridRetriever
from knowledge.rewrite import ConversationRewriter, QueryRewriter, last_customer_turn

PUBLIC = frozenset({Visibility.public})
ALL = frozenset({Visibility.public, Visibility.internal})


@dataclass
class ContextBuilder:
    store: Store
    retriever: HybridRetriever
    k: int = 4
    rewriter: QueryRewriter = field(default_factory=ConversationRewriter)

    def context(
        self,
        tenant_id: str,
        turns: list[Turn],
        *,
        customer_id: str | None,
        visibilities: frozenset[Visibility] = PUBLIC,
        k: int | None = None,
        query: str | None = None,
    ) -> Context:
        filters = Filters(tenant_id, visibilities)
        if query is not None:
            q = query
            passages = self.retriever.search(q, k=k or self.k, filters=filters) if q.strip() else []
        else:
            # The last turn as said and rewritten from the conversation, fused: the rewrite
            # resolves follow-ups, the plain turn keeps a topic switch from being drowned.
            q = self.rewriter.rewrite(turns)
            queries = [last_customer_turn(turns), q]
            passages = self.retriever.search_many(queries, k=k or self.k, filters=filters) if q else []
        return Context(query=q, passages=passages, customer=self.facts(tenant_id, customer_id))

    def document_frequencies(self, tenant_id: str, terms: Sequence[str]) -> dict[str, int]:
        """How many of the tenant's KB chunks hold each stemmed term (0: the help center never
        uses the word) — a domain-neutral signal that a question is about something else."""
        return self.retriever.keyword.document_frequencies(tenant_id, terms)

    def facts(self, tenant_id: str, customer_id: str | None, *, for_agent: bool = False) -> CustomerFacts | None:
        """The customer's CRM record (None: anonymous or unknown). For the bot (default) without
        the tenant's ``private_fields``; ``for_agent`` keeps them (agents and the copilot see them)."""
        if not customer_id:
            return None  # anonymous visitors get no CRM access
        with self.store.read_core(tenant_id) as s:  # Core reads, no ORM session (every turn of a signed-in customer)
            try:
                facts = customer_facts(s, customer_id)
            except NotFound:
                return None
        private = self.store.tenant_config(tenant_id).get("private_fields") or []
        if private and not for_agent:
            facts = facts.model_copy(update={"attributes": without_fields(facts.attributes, private)})
        return facts


# -- the customer's own record as facts -------------------------------------------------

# Key words (split on "_", "-", spaces) that mark agent text, internal state or secrets.
_HIDDEN_KEY_WORDS = frozenset(
    "note notes comment comments remark remarks flag flags internal stage stages code codes password "
    "passwords pin secret secrets token tokens dob birth iban bic swift cvv cvc card sort security".split()
)
_HIDDEN_KEY_PHRASES = ("bank_account", "account_number", "date_of_birth")
# Key words that make a number an amount of money (generic finance words, no company's terms).
_MONEY_KEY_WORDS = frozenset(
    "amount amounts balance fee fees total price cost charge charges debt credit instalment installment "
    "payment paid owed owe deposit bill refund refunds cap discount".split()
)
_INTERNAL_CODE = re.compile(r"^[A-Z]{1,4}(?:-[A-Z0-9]{1,6})+$")
_RATE_KEY = re.compile(r"^(?P<name>.*?)_?(?P<minor>p|c|pence|cents)_per_(?P<per>[a-z0-9]+)$")
_CURRENCY_KEY = re.compile(r"^(?P<name>.*?)_(?P<code>[a-z]{3})$")
_ISO_CURRENCIES = frozenset(code.lower() for code in list_currencies())  # CLDR (Babel)
_NAME_FIELDS = ("name", "title", "label", "item", "product", "service")
Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class AccountFact:
    """One fact of the customer's own record.

    ``group``: where it sits, e.g. ("plan", "exit fee") or ("devices", "router", "last check");
    ``label``: what it is ("end date"); ``kind``: money | rate | date | number | text | bool;
    ``unit``: for rates, the minor unit and what it is per ("p", "gb"); ``currency``: an ISO
    code when the record names one (else the tenant's currency applies)."""

    group: tuple[str, ...]
    label: str
    value: Scalar
    kind: str
    unit: tuple[str, ...] = ()
    currency: str = ""


def without_fields(data: dict[str, object], fields: Sequence[str]) -> dict[str, object]:
    """``data`` without the keys named in ``fields`` (case-insensitive, at any depth, inside
    lists too): a tenant's ``private_fields`` never reach the bot."""
    names = {f.strip().lower() for f in fields if f.strip()}

    def clean(value: object) -> object:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if str(k).lower() not in names}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return {k: clean(v) for k, v in data.items() if str(k).lower() not in names}


def _words(key: str) -> list[str]:
    return [w for w in re.split(r"[_\-\s.]+", key.lower()) if w]


def _hidden(key: str) -> bool:
    k = key.lower()
    return bool(set(_words(k)) & _HIDDEN_KEY_WORDS) or any(p in k for p in _HIDDEN_KEY_PHRASES)


def _label(key: str) -> str:
    return " ".join(_words(key))


def _is_date(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[T ][\d:.+\-Z]*)?", value.strip()) is not None


def _leaf(group: tuple[str, ...], key: str, value: Scalar, currency: str = "") -> AccountFact | None:
    if value is None or value == "" or _hidden(key):
        return None
    if isinstance(value, str) and _INTERNAL_CODE.match(value.strip()):
        return None
    words = set(_words(key))
    if isinstance(value, bool):
        return AccountFact(group, _label(key), value, "bool")
    if isinstance(value, int | float):
        if m := _RATE_KEY.match(key.lower()):
            minor = "p" if m["minor"] in ("p", "pence") else "c"
            return AccountFact(group, _label(m["name"]) or "rate", value, "rate", (minor, m["per"]))
        if (m := _CURRENCY_KEY.match(key.lower())) and m["code"] in _ISO_CURRENCIES:
            return AccountFact(group, _label(m["name"]), value, "money", currency=m["code"].upper())
        counts = {w for w in words if w.endswith("s") and w not in _MONEY_KEY_WORDS}  # "instalments_paid"
        if currency or (words & _MONEY_KEY_WORDS and not counts):
            return AccountFact(group, _label(key), value, "money", currency=currency)
        return AccountFact(group, _label(key), value, "number")
    if _is_date(value):
        return AccountFact(group, _label(key), str(value).strip(), "date")
    return AccountFact(group, _label(key), str(value), "text")


def _flatten(
    group: tuple[str, ...], data: dict[str, object], out: list[AccountFact], depth: int = 0, currency: str = ""
) -> None:
    """``currency``: the ISO code a parent key named ("credit_gbp": {...}) for every amount below."""
    if depth > 5:
        return
    for key, value in data.items():
        if _hidden(key):
            continue
        if isinstance(value, dict):
            m = _CURRENCY_KEY.match(key.lower())
            if m and m["code"] in _ISO_CURRENCIES:
                _flatten((*group, _label(m["name"])), value, out, depth + 1, m["code"].upper())
            else:
                _flatten((*group, _label(key)), value, out, depth + 1, currency)
        elif isinstance(value, list):
            if all(not isinstance(v, dict | list) for v in value):
                text = ", ".join(str(v) for v in value if v not in (None, ""))
                fact = _leaf(group, key, text) if text else None
                if fact is not None:
                    out.append(fact)
                continue
            for i, item in enumerate(value, start=1):
                if not isinstance(item, dict):
                    continue
                scalars = {k: v for k, v in item.items() if not isinstance(v, dict | list) and not _hidden(k)}
                texts = [k for k, v in scalars.items() if isinstance(v, str) and not _is_date(v)]
                numbers = [k for k, v in scalars.items() if isinstance(v, int | float) and not isinstance(v, bool)]
                if len(scalars) == 2 and len(texts) == 1 and len(numbers) == 1:
                    # {"item": "January bill", "amount": 208.14} is one fact: "January bill: 208.14"
                    fact = _leaf((*group, _label(key)), numbers[0], scalars[numbers[0]], currency)
                    if fact is not None:
                        out.append(AccountFact(fact.group, str(scalars[texts[0]]), fact.value, fact.kind,
                                               fact.unit, fact.currency))
                    continue
                _flatten((*group, _label(key), _element_name(value, item, i)), item, out, depth + 1, currency)
        else:
            fact = _leaf(group, key, value, currency)  # type: ignore[arg-type]
            if fact is not None:
                out.append(fact)


def _element_name(elements: list[object], item: dict[str, object], index: int) -> str:
    """What tells one element of a list apart: a naming field, else the first field that is
    short text (at most three words, no digits) in every element and differs between them."""
    for k in _NAME_FIELDS:
        if isinstance(item.get(k), str) and item[k]:
            return str(item[k])
    dicts = [e for e in elements if isinstance(e, dict)]

    def short(v: object) -> bool:
        return isinstance(v, str) and bool(v) and len(v.split()) <= 3 and not any(ch.isdigit() for ch in v)

    for k in item:
        values = [e.get(k) for e in dicts]
        if not _hidden(k) and all(short(v) for v in values) and len(set(values)) == len(values):
            return str(item[k])
    return str(index)


def account_facts(facts: CustomerFacts) -> list[AccountFact]:
    """The customer's own record as facts, grouped (see ``AccountFact``). Orders give status,
    dates, items and total; tickets give subject, status and date (never their notes)."""
    out: list[AccountFact] = []
    _flatten((), dict(facts.attributes), out)
    for o in facts.orders:
        group = ("orders", o.id)
        out.append(AccountFact(group, "status", o.status, "text"))
        for label, value in (("placed", o.placed_at), ("shipped", o.shipped_at), ("delivered", o.delivered_at)):
            if value:
                out.append(AccountFact(group, label, value, "date" if _is_date(value) else "text"))
        if o.items:
            out.append(AccountFact(group, "items", ", ".join(o.items), "text"))
        out.append(AccountFact(group, "total", o.total, "money", currency=o.currency.upper()))
        if o.carrier:
            out.append(AccountFact(group, "carrier", o.carrier, "text"))
    for t in facts.tickets:
        group = ("tickets", t.subject or t.id)
        out.append(AccountFact(group, "status", t.status, "text"))
        if t.created_at:
            out.append(AccountFact(group, "opened", t.created_at, "date" if _is_date(t.created_at) else "text"))
    return out
