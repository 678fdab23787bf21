"""The RAG layer: a conversation in, cited passages and this customer's facts out.

Bot and copilot both get their context here. The bot asks for public passages only;
the copilot (for agents) asks for public and internal ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

    def facts(self, tenant_id: str, customer_id: str | None) -> CustomerFacts | None:
        if not customer_id:
            return None  # anonymous visitors get no CRM access
        with self.store.session(tenant_id) as s:
            try:
                return customer_facts(s, customer_id)
            except NotFound:
                return None
