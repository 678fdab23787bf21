"""The supervisor dashboard in Chromium against the real server (llama.cpp + MiniLM): a customer
asks for a person in the widget, an agent takes it and closes it, the widget asks for a rating
once and the answer is counted; another customer's question is answered by the bot; the
supervisor sees the tiles and the charts with data, filters by a queue, drills down to a
conversation and exports a table as CSV.

Set ``SWITCHBOARD_SUPERVISOR_SCREENSHOT=/path.png`` to keep a screenshot of the dashboard."""

from __future__ import annotations

import csv
import io
import os
import re
import time

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = pytest.mark.e2e

ANSWER_TIMEOUT_MS = 120_000
UI_TIMEOUT_MS = 30_000
SUPERVISOR = {"X-API-Key": "dev-supervisor-key"}
AGENT = {"X-API-Key": "dev-agent-key"}


def _customer(http: httpx.Client, customer_id: str) -> dict[str, str]:
    token = http.get("/api/demo/session", params={"customer_id": customer_id}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _bot_reply(http: httpx.Client, conv: str, headers: dict[str, str]) -> dict[str, object]:
    deadline = time.monotonic() + ANSWER_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        messages = http.get(f"/api/conversations/{conv}", headers=headers).json()["messages"]
        bot = [m for m in messages if m["author"] == "bot"]
        if bot:
            return dict(bot[-1])
        time.sleep(0.5)
    raise AssertionError(f"no bot reply in {conv} after {ANSWER_TIMEOUT_MS / 1000:.0f} s")


def _chart_total(page: Page, canvas: str) -> float:
    return float(
        page.evaluate(
            """(id) => { const c = Chart.getChart(id); if (!c) return -1;
                return c.data.datasets[0].data.reduce((a, b) => a + (b || 0), 0); }""",
            canvas,
        )
    )


def test_supervisor_sees_rates_filters_drills_down_and_exports(live_server: str, context: BrowserContext) -> None:
    errors: list[str] = []
    with httpx.Client(base_url=live_server, timeout=240.0) as http:
        # A customer asks for a person in the widget; an agent takes it, replies and closes it.
        shop = context.new_page()
        shop.on("pageerror", lambda exc: errors.append(str(exc)))
        shop.goto(live_server + "/")
        shop.get_by_test_id("launcher").click()
        log = shop.get_by_test_id("log")
        expect(log).to_have_attribute("data-conversation", re.compile(r"^[0-9a-f]{32}$"), timeout=UI_TIMEOUT_MS)
        conv = log.get_attribute("data-conversation")
        assert conv
        shop.get_by_test_id("input").fill("I want to talk to a person")
        shop.get_by_test_id("send").click()
        expect(shop.get_by_test_id("status")).to_contain_text("support agent", timeout=ANSWER_TIMEOUT_MS)
        assert http.post(f"/api/agent/conversations/{conv}/claim", headers=AGENT).status_code == 200
        reply = {"text": "Hi, this is Sam. I can help you with that."}
        assert http.post(f"/api/agent/conversations/{conv}/messages", json=reply, headers=AGENT).status_code == 200
        assert http.post(f"/api/agent/conversations/{conv}/close", headers=AGENT).status_code == 200

        # The widget asks once; the customer answers 4 of 5, solved, with a comment.
        csat = shop.get_by_test_id("csat")
        expect(csat).to_be_visible(timeout=UI_TIMEOUT_MS)
        shop.get_by_test_id("csat-4").click()
        shop.get_by_test_id("csat-resolved").check()
        shop.get_by_test_id("csat-comment").fill("Sam was quick.")
        shop.get_by_test_id("csat-send").click()
        expect(shop.get_by_test_id("csat-thanks")).to_be_visible(timeout=UI_TIMEOUT_MS)
        again = http.post(f"/api/conversations/{conv}/csat", json={"rating": 1}, headers=_customer(http, "cus_001"))
        assert again.status_code == 409, again.text  # one answer per conversation

        # Another customer's question is answered by the bot; the customer ends the chat.
        other = _customer(http, "cus_002")
        bot_conv = http.post("/api/conversations", json={}, headers=other).json()["id"]
        r = http.post(
            f"/api/conversations/{bot_conv}/messages",
            json={"text": "How long do I have to return an item?"},
            headers=other,
        )
        assert r.status_code in (200, 202), r.text  # 202: the answer is still being written
        assert _bot_reply(http, bot_conv, other)["kind"] == "answer"
        assert http.post(f"/api/conversations/{bot_conv}/end", json={}, headers=other).json()["state"] == "closed"

        queue = http.get(f"/api/agent/conversations/{conv}", headers=AGENT).json()["queue"]  # the bot's routing
        everything = http.get("/api/supervisor/metrics", headers=SUPERVISOR).json()
        in_queue = http.get("/api/supervisor/metrics", params={"queue": queue}, headers=SUPERVISOR).json()
    s = everything["summary"]
    assert s["csat_score"]["denominator"] >= 1 and s["handoff"]["numerator"] >= 1
    assert s["bot_resolution"]["numerator"] >= 1
    n_all, n_queue = s["conversations"], in_queue["summary"]["conversations"]
    assert queue and 1 <= n_queue < n_all

    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_viewport_size({"width": 1366, "height": 1000})
    page.goto(live_server + "/supervisor")

    # Tiles and charts with data.
    expect(page.get_by_test_id("value-conversations")).to_have_text(str(n_all), timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("value-csat")).not_to_have_text("—")
    expect(page.get_by_test_id("tile-csat")).to_contain_text("response rate")
    for key in ("bot_resolution", "handoff", "fcr", "frt", "aht", "after_hours", "effort", "copilot"):
        expect(page.get_by_test_id(f"tile-{key}")).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-series')")
    assert _chart_total(page, "chart-series") >= n_all
    assert _chart_total(page, "chart-reasons") >= 1
    assert _chart_total(page, "chart-csat") >= 1
    expect(page.get_by_test_id("gaps")).not_to_contain_text("Loading", timeout=UI_TIMEOUT_MS)
    shot = os.environ.get("SWITCHBOARD_SUPERVISOR_SCREENSHOT")
    if shot:
        page.screenshot(path=shot, full_page=False)

    # Drill down from a tile to the conversations, and into one transcript.
    page.get_by_test_id("tile-handoff").click()
    rows = page.get_by_test_id("drill-row")
    expect(rows.first).to_be_visible(timeout=UI_TIMEOUT_MS)
    page.locator(f'[data-testid=drill-row][data-conversation="{conv}"]').click()
    expect(page.get_by_test_id("transcript-log")).to_contain_text("Hi, this is Sam", timeout=UI_TIMEOUT_MS)

    # Filter by a queue: the tiles follow.
    page.get_by_test_id("f-queue").select_option(queue)
    page.get_by_test_id("apply").click()
    expect(page.locator("body")).to_have_attribute("data-loaded", re.compile(rf"\|{queue}\|"), timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("value-conversations")).to_have_text(str(n_queue))
    expect(page.get_by_test_id("scope")).to_contain_text(f"queue {queue}")

    # Export a table as CSV.
    with page.expect_download(timeout=UI_TIMEOUT_MS) as download:
        page.get_by_test_id("csv-queues").click()
    text = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115
    rows_csv = list(csv.reader(io.StringIO(text)))
    assert rows_csv[0][:3] == ["key", "conversations", "bot_resolved"]
    assert [r[0] for r in rows_csv[1:]] == [queue] and int(rows_csv[1][1]) == n_queue
    assert errors == [], errors
