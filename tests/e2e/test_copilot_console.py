"""The copilot in the agent console, in Chromium against the real server: a customer message
arrives, the suggestions appear with the next best action (its reason and the guideline's
steps, marked internal) apart from the suggested replies, the agent edits a reply and inserts
it in one click, sends it, the customer receives it, and the feedback is on the supervisor's
acceptance page."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SUGGESTION_TIMEOUT_MS = 120_000  # the real llama.cpp model drafts the first reply on a shared CPU


def _handed_off_and_claimed(
    http: httpx.Client, page: Page, live_server: str, customer_id: str
) -> tuple[str, dict[str, str]]:
    """A demo customer's conversation handed off on request and claimed in the console:
    (conversation id, the customer's auth headers)."""
    token = http.get("/api/demo/session", params={"customer_id": customer_id}).json()["token"]
    customer = {"Authorization": f"Bearer {token}"}
    conv = http.post("/api/conversations", json={}, headers=customer).json()["id"]
    r = http.post(f"/api/conversations/{conv}/messages", json={"text": "I want to talk to a person"}, headers=customer)
    assert r.json()["handoff"], r.text
    page.goto(f"{live_server}/agent")
    page.locator(f'[data-testid=queue-item][data-conversation="{conv}"]').click()
    page.get_by_test_id("claim").click()
    expect(page.get_by_test_id("conv-title")).to_contain_text("human")
    return conv, customer


def _say(http: httpx.Client, conv: str, customer: dict[str, str], text: str) -> int:
    """The customer's message, stored (200); its sequence number."""
    r = http.post(f"/api/conversations/{conv}/messages", json={"text": text}, headers=customer)
    assert r.status_code == 200, r.text
    return int(r.json()["message"]["seq"])


def test_agent_inserts_a_suggested_reply_and_the_customer_gets_it(page: Page, live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=120.0) as http:
        conv, customer = _handed_off_and_claimed(http, page, live_server, "cus_001")

        seq = _say(http, conv, customer, "How long do I have to return an item I bought?")

        articles = page.get_by_test_id("article-suggestion")
        expect(articles.first).to_be_visible(timeout=SUGGESTION_TIMEOUT_MS)
        expect(page.get_by_test_id("suggestions")).to_have_attribute("data-seq", str(seq))
        expect(articles.first.locator("mark")).to_be_visible()  # the matching passage is highlighted
        # The next best action with why, and internal guidance kept apart from the replies.
        nba = page.get_by_test_id("next-action-card")
        expect(nba).to_be_visible()
        expect(nba.get_by_test_id("next-action-label")).not_to_be_empty()
        expect(nba.get_by_test_id("next-action-reason")).to_contain_text("Why:")
        expect(nba.get_by_test_id("next-action-steps")).to_be_visible()
        expect(nba.locator(".internal-note")).to_have_text("internal — do not send")
        assert page.get_by_test_id("replies").locator(".internal-note").count() == 0

        reply = page.get_by_test_id("reply-suggestion").first
        expect(reply).to_be_visible(timeout=SUGGESTION_TIMEOUT_MS)
        suggested = reply.get_by_test_id("reply-text").input_value()
        assert suggested.strip()
        internal = page.locator("[data-testid=article-suggestion]:has(.internal)")
        for i in range(internal.count()):  # no internal article's text is offered as a reply
            highlight = internal.nth(i).locator("mark")
            if highlight.count():
                assert highlight.first.inner_text().strip() not in suggested
        # The reply is editable before sending: the agent's edit is what the customer gets.
        reply.get_by_test_id("reply-text").fill(suggested + " Anything else I can help with?")
        suggested = reply.get_by_test_id("reply-text").input_value()
        reply.get_by_test_id("insert-reply").click()
        expect(page.get_by_test_id("reply")).to_have_value(suggested)
        page.get_by_test_id("send-reply").click()
        expect(page.locator('#log [data-author="agent"]').last).to_contain_text(suggested[:40])

        messages = http.get(f"/api/conversations/{conv}", headers=customer).json()["messages"]
        assert messages[-1]["author"] == "agent" and messages[-1]["text"] == suggested.strip()

        by_kind: dict[str, dict[str, float]] = {}
        for _ in range(20):  # the console posts feedback asynchronously
            rates = http.get("/api/supervisor/copilot/acceptance", headers={"X-API-Key": "dev-supervisor-key"}).json()
            by_kind = {k["kind"]: k for k in rates["data"]}
            if by_kind.get("reply", {}).get("inserted", 0) >= 1:
                break
            time.sleep(0.25)
        assert by_kind["reply"]["inserted"] >= 1 and by_kind["reply"]["shown"] >= 1
        assert by_kind["reply"]["acceptance_rate"] > 0
        assert by_kind["article"]["shown"] >= 1

        page.goto(f"{live_server}/supervisor")
        expect(page.locator('[data-testid=acceptance] tr[data-kind="reply"]')).to_be_visible()


def test_next_action_and_internal_guidance_are_shown_apart_from_the_replies(page: Page, live_server: str) -> None:
    """A situation an internal procedure covers: the next action says why, the internal
    guidance box (marked "internal — do not send") quotes the internal article, and no
    suggested reply carries that text or cites an internal article."""
    with httpx.Client(base_url=live_server, timeout=120.0) as http:
        conv, customer = _handed_off_and_claimed(http, page, live_server, "cus_002")

        seq = _say(http, conv, customer, "I was charged twice for my order and nobody answered my emails")
        expect(page.get_by_test_id("suggestions")).to_have_attribute(
            "data-seq", str(seq), timeout=SUGGESTION_TIMEOUT_MS
        )

        nba = page.get_by_test_id("next-action-card")
        expect(nba).to_be_visible()
        expect(nba.get_by_test_id("next-action-reason")).to_contain_text("Why:")
        expect(nba.get_by_test_id("next-action-reason")).to_contain_text("said:")  # the turn it matched

        guidance = page.get_by_test_id("internal-guidance")
        expect(guidance).to_be_visible()
        expect(guidance.locator(".internal-note")).to_have_text("internal — do not send")
        items = guidance.get_by_test_id("guidance-item")
        expect(items.first).to_be_visible()
        internal_ids = {
            a.get_attribute("data-article")
            for a in page.locator("[data-testid=article-suggestion]:has(.internal)").all()
        }
        assert internal_ids and all(i.get_attribute("data-article") in internal_ids for i in items.all())
        notes = [n.strip() for n in items.locator("p").all_inner_texts() if n.strip()]
        public = " ".join(page.locator("[data-testid=article-suggestion]:not(:has(.internal))").all_inner_texts())
        internal_only = [n for n in notes if n[:60] not in public]  # a sentence a public article also says is public
        assert internal_only, notes

        replies = page.get_by_test_id("replies")
        expect(replies).to_have_attribute("data-seq", str(seq))
        reply = page.get_by_test_id("reply-suggestion").first
        expect(reply).to_be_visible(timeout=SUGGESTION_TIMEOUT_MS)
        assert replies.locator("[data-testid=internal-guidance], .internal-note").count() == 0
        texts = [t.input_value() for t in page.get_by_test_id("reply-text").all()]
        assert texts and all(t.strip() for t in texts)
        for text in texts:  # no internal guidance inside a reply meant for the customer
            assert not any(note[:60] in text for note in internal_only), text
