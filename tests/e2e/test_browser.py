"""The walking skeleton in Chromium: the customer asks in the widget and gets a cited answer,
asks for a human; the agent finds the conversation in the console, reads the handoff brief,
takes over and replies; the customer sees the reply."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = pytest.mark.e2e

ANSWER_TIMEOUT_MS = 90_000
UI_TIMEOUT_MS = 15_000


def ask(page: Page, text: str) -> None:
    page.get_by_test_id("input").fill(text)
    page.get_by_test_id("send").click()


def test_widget_to_console_and_back(live_server: str, context: BrowserContext) -> None:
    console_errors: list[str] = []
    shop = context.new_page()
    shop.on("pageerror", lambda exc: console_errors.append(str(exc)))
    shop.goto(live_server + "/")

    # The customer opens the widget (a conversation starts) and asks.
    shop.get_by_test_id("launcher").click()
    widget = shop.get_by_test_id("widget")
    expect(widget).to_be_visible()
    log = shop.get_by_test_id("log")
    expect(log).to_have_attribute("data-conversation", re.compile(r"^[0-9a-f]{32}$"), timeout=UI_TIMEOUT_MS)
    conv = log.get_attribute("data-conversation")
    assert conv
    ask(shop, "How long do I have to return an item?")
    expect(log.locator('.msg[data-author="customer"]')).to_have_text(re.compile("return an item"))

    # A bot answer with a citation link to a returns article.
    cited = log.locator('.msg[data-author="bot"] [data-testid="citations"] a[data-article*="return"]').first
    expect(cited).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(cited).to_have_attribute("href", re.compile(r"return"))

    # Asking for a human: the widget says a person is coming.
    ask(shop, "I want to talk to a person")
    expect(shop.get_by_test_id("status")).to_contain_text("Waiting for a support agent", timeout=ANSWER_TIMEOUT_MS)

    # The agent console: the conversation is in the queue; opening it shows the brief.
    console = context.new_page()
    console.on("pageerror", lambda exc: console_errors.append(str(exc)))
    console.goto(live_server + "/agent")
    item = console.locator(f'[data-testid="queue-item"][data-conversation="{conv}"]')
    expect(item).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(item).to_contain_text("handoff pending")
    item.click()
    brief = console.get_by_test_id("handoff-brief")
    expect(brief).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(brief).to_contain_text(re.compile(r"explicit request|after hours"))  # the wall clock decides
    expect(brief).to_contain_text("talk to a person")
    agent_log = console.get_by_test_id("agent-log")
    expect(agent_log.locator('.msg[data-author="customer"]')).to_have_count(2)

    # Take over and reply.
    console.get_by_test_id("claim").click()
    expect(shop.get_by_test_id("status")).to_contain_text("A support agent has joined", timeout=UI_TIMEOUT_MS)
    reply = "Hi, this is Sam from Larkspur. You have 30 days from delivery to return it."
    console.get_by_test_id("reply").fill(reply)
    console.get_by_test_id("send-reply").click()
    expect(agent_log.locator('.msg[data-author="agent"]')).to_contain_text(reply)

    # The customer sees the agent's reply in the widget.
    expect(log.locator('.msg[data-author="agent"]')).to_contain_text(reply, timeout=UI_TIMEOUT_MS)
    assert console_errors == [], console_errors
