"""Citation links stay on the tenant's link allow-list: off it, a citation keeps its title
and loses its link (the widget then shows it as text)."""

from __future__ import annotations

from server.auth import Principal, Role
from server.container import Services
from server.demo import demo_tenant_config
from server.service import ConversationService
from tests.conftest import TENANT

QUESTION = "How long do I have to return an item?"


def _cited(services: Services) -> list[tuple[str, str]]:
    principal = Principal(Role.customer, TENANT, "cus_001", visitor_id="v1")
    conversations = ConversationService(services)
    conv = conversations.start(principal)
    result = conversations.post_customer_message(principal, conv.id, QUESTION)
    citations = [c for r in result.replies for c in r.citations]
    assert citations, result.replies
    return [(c.article_id, c.url) for c in citations]


def test_citations_link_to_the_help_center_on_the_allow_list(demo_services: Services) -> None:
    assert all(url.startswith("https://") for _, url in _cited(demo_services))


def test_a_citation_off_the_allow_list_loses_its_link(demo_services: Services) -> None:
    config = {**demo_tenant_config(), "allowed_link_hosts": ["elsewhere.example"]}
    demo_services.store.ensure_tenant(TENANT, "Larkspur", config)
    cited = _cited(demo_services)
    assert all(url == "" for _, url in cited), cited
    assert all(article for article, _ in cited)  # still cited, by title
