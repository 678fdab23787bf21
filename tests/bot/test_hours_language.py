from __future__ import annotations

from datetime import datetime

from bot.hours import BusinessHours
from bot.language import detect_language
from server.demo import demo_tenant_config


def test_business_hours_follow_the_tenant_timezone() -> None:
    hours = BusinessHours.from_config(demo_tenant_config())
    assert hours.is_open(datetime.fromisoformat("2026-11-18T19:30:00+01:00"))  # Wednesday evening in Berlin
    assert not hours.is_open(datetime.fromisoformat("2026-11-18T20:30:00+01:00"))
    assert not hours.is_open(datetime.fromisoformat("2026-11-22T10:30:00+01:00"))  # Sunday: closed
    opens = hours.next_opening(datetime.fromisoformat("2026-11-22T10:30:00+01:00"))
    assert opens is not None and opens.strftime("%a %H:%M") == "Mon 08:00"


def test_a_tenant_without_hours_is_always_open() -> None:
    assert BusinessHours.from_config({}).is_open(datetime.fromisoformat("2026-11-22T03:00:00+00:00"))


def test_language_detection_is_sure_of_long_text_and_careful_with_short_text() -> None:
    assert detect_language("Dzień dobry, chciałbym zwrócić namiot.").code == "pl"
    assert detect_language("こんにちは、注文した商品がまだ届きません。").code == "ja"
    assert detect_language("where is my order?").code == "en"
    assert detect_language("Ridge 2P tent").code is None  # too short to tell: keep the conversation's language
    assert detect_language("thx").code is None
