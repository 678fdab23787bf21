"""With the real MiniLM embedder on the demo help center: the returns-policy section that
answers "How long do I have to return an item?" comes first (it used to rank 4th)."""

from __future__ import annotations

import pytest

from core.types import Author, Turn
from knowledge.index.base import Filters
from knowledge.rankers.title import TitleRanker
from server.container import Services
from tests.conftest import TENANT

pytestmark = pytest.mark.integration
QUESTION = "How long do I have to return an item?"


def test_returns_question_ranks_its_section_first(real_services: Services) -> None:
    ctx = real_services.context.context(TENANT, [Turn(author=Author.customer, text=QUESTION)], customer_id=None)
    top = ctx.passages[0]
    assert (top.article_id, top.section) == ("returns-policy", QUESTION)
    reranked = real_services.retriever.with_mode("hybrid", ranker=TitleRanker(real_services.embedder))
    [first] = reranked.search(QUESTION, k=1, filters=Filters(TENANT))
    assert (first.article_id, first.section) == ("returns-policy", QUESTION)
