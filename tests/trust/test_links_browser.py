"""In Chromium: a KB article whose URL is ``javascript:…`` (article metadata is editor
input) is cited in the widget and suggested in the agent console as plain text, never as
a link; an https URL stays a link. The server runs in this process (fake models) so the
real widget.js and console.js render what the real API returns."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import BrowserContext, expect

from core.models.fake import HashingEmbedder, ScriptedChatModel
from knowledge.documents import Document
from server.app import create_app
from server.container import Services
from server.demo import demo_tenant_config
from tests.conftest import OPEN_HOURS, TENANT, make_settings, quote_first_source

pytestmark = pytest.mark.e2e

EVIL = "javascript:alert(document.domain)"
# An https link on the tenant's own help center (links elsewhere are dropped: test_citation_links).
HELP = str(demo_tenant_config()["help_center_url"]).rstrip("/") + "/shipping"
UI_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.e2e.server import free_port

    svc = Services(
        make_settings(tmp_path_factory.mktemp("links"), environment="development"),
        chat_override=ScriptedChatModel(quote_first_source),
        embedder_override=HashingEmbedder(),
        clock_override=lambda: OPEN_HOURS,
    )
    svc.store.ensure_tenant(TENANT, "Larkspur", demo_tenant_config())
    report = svc.kb.load_documents(
        TENANT,
        [
            Document(
                id="returns",
                title="Returns policy",
                body="## How long do I have to return an item\n\nItems can be returned within 30 days of delivery.",
                url=EVIL,
            ),
            Document(
                id="shipping",
                title="Shipping times",
                body="## How long does shipping take\n\nParcels arrive within 3 working days of dispatch.",
                url=HELP,
            ),
        ],
    )
    assert report.ok, report.errors
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(services=svc), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
    svc.close()


def test_javascript_urls_are_never_links(site: str, context: BrowserContext) -> None:
    dialogs: list[str] = []
    shop = context.new_page()
    shop.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    shop.goto(site + "/")
    shop.get_by_test_id("launcher").click()
    log = shop.get_by_test_id("log")
    expect(log).to_have_attribute("data-conversation", re.compile(r"^[0-9a-f]{32}$"), timeout=UI_TIMEOUT_MS)

    shop.get_by_test_id("input").fill("How long do I have to return an item?")
    shop.get_by_test_id("send").click()
    cited = log.locator('.msg[data-author="bot"] [data-testid="citations"] [data-article="returns"]').first
    expect(cited).to_be_visible(timeout=UI_TIMEOUT_MS)
    assert cited.evaluate("e => e.tagName") == "SPAN"  # text, not a link
    assert cited.get_attribute("href") is None
    cited.click()

    shop.get_by_test_id("input").fill("How long does shipping take?")
    shop.get_by_test_id("send").click()
    control = log.locator('.msg[data-author="bot"] [data-testid="citations"] a[data-article="shipping"]').first
    expect(control).to_have_attribute("href", HELP, timeout=UI_TIMEOUT_MS)

    # The agent console: the conversation's article suggestions and reply citations.
    shop.get_by_test_id("input").fill("I want to talk to a person")
    shop.get_by_test_id("send").click()
    conv = log.get_attribute("data-conversation")
    console = context.new_page()
    console.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    console.goto(site + "/agent")
    console.locator(f'[data-testid="queue-item"][data-conversation="{conv}"]').click(timeout=UI_TIMEOUT_MS)
    expect(console.get_by_test_id("article-suggestion").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    console.get_by_test_id("kb-search").fill("how long do I have to return an item")
    console.get_by_test_id("kb-search").press("Enter")
    results = console.get_by_test_id("search-results")
    card = results.locator('[data-testid="article-suggestion"][data-article="returns"]')
    expect(card).to_be_visible(timeout=UI_TIMEOUT_MS)
    assert card.locator(".title > *").first.evaluate("e => e.tagName") == "SPAN"
    assert card.locator("a").count() == 0
    for page in (shop, console):
        assert page.locator('a[href^="javascript:" i]').count() == 0
        assert page.evaluate("() => [...document.links].filter(a => a.protocol === 'javascript:').length") == 0
    assert dialogs == []
