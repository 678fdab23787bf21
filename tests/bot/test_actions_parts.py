"""The parts of self-service actions, without a database: reading values from words, telling
requests from questions, picking the customer's own record, the texts, the HTTP executor's
failures (through an injected transport), and the public surface."""

from __future__ import annotations

from datetime import date, datetime

import httpx
import pytest

import bot.actions
from bot.actions import ActionCall, ActionFailed, PendingAction, is_request
from bot.actions.choices import Choice, narrow, record_choices
from bot.actions.detect import evidence
from bot.actions.executors.http import HttpActionExecutor
from bot.actions.render import confirmation_text, result_text
from bot.actions.values import find_value, parse_date, read_answer, words_of
from core.tenancy.actions import ActionParameter, ActionSpec

TODAY = date(2026, 3, 10)


def _p(**kw: object) -> ActionParameter:
    return ActionParameter.model_validate({"name": "x", **kw})


def test_the_public_surface_is_pinned() -> None:
    assert sorted(bot.actions.__all__) == sorted(
        [
            "ActionCall",
            "ActionContext",
            "ActionError",
            "ActionFailed",
            "ActionOutcome",
            "ActionRefused",
            "ActionResult",
            "ActionRunner",
            "PendingAction",
            "PendingChoice",
            "is_request",
        ]
    )


def test_numbers_are_read_only_when_named_or_unambiguous() -> None:
    months = _p(name="months", type="integer", minimum=1, maximum=24)
    assert find_value(months, "I can't pay the £412.60 all at once. Can I spread it over 6 months?", TODAY).value == 6
    assert find_value(months, "spread it over 36 months", TODAY).problem.startswith("It needs to be between 1 and 24")
    reading = _p(name="reading", type="integer")
    assert find_value(reading, "my meter E17L330962 says 18102 today", TODAY).value == 18102
    assert find_value(reading, "it says 18102 or maybe 18120", TODAY).value is None  # ask rather than guess
    assert find_value(_p(name="amount", type="number"), "pay £12.50 please", TODAY).value == 12.5


def test_dates_are_iso_in_the_tenants_day() -> None:
    assert parse_date("it says 18102 today", TODAY) == [TODAY]
    assert parse_date("yesterday", TODAY) == [date(2026, 3, 9)]
    assert parse_date("on 3 March 2026", TODAY) == [date(2026, 3, 3)]
    assert parse_date("March 3rd", TODAY) == [date(2026, 3, 3)]
    assert parse_date("2026-02-28", TODAY) == [date(2026, 2, 28)]
    assert parse_date("can an engineer come on Friday?", TODAY) == [date(2026, 3, 13)]  # 10 March is a Tuesday
    assert parse_date("last Tuesday", TODAY) == [date(2026, 3, 3)]
    assert parse_date("in 2 days", TODAY) == [date(2026, 3, 12)]
    assert read_answer(_p(type="date"), "no idea", TODAY).problem


def test_answers_are_validated_with_a_sentence_for_the_re_ask() -> None:
    assert read_answer(_p(type="enum", choices=["gas", "electricity"]), "the Gas one", TODAY).value == "gas"
    assert "choose one of" in read_answer(_p(type="enum", choices=["gas", "electricity"]), "water", TODAY).problem
    postcode = _p(name="postcode", type="pattern", pattern=r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}")
    assert read_answer(postcode, "it's SB4 2NJ", TODAY).value == "SB4 2NJ"
    assert "valid postcode" in read_answer(postcode, "my house", TODAY).problem
    assert read_answer(_p(type="string"), "yes", TODAY).problem  # a yes is no address
    assert find_value(_p(type="string"), "change my address to somewhere", TODAY).value is None


@pytest.mark.parametrize(
    ("text", "read", "expected"),
    [
        ("Can you check my balance for me?", True, True),
        ("I'd like to give you a reading for my meter. It says 18102 today.", False, True),
        ("All my lights have gone off. Is there a power cut?", True, True),
        ("Can I spread it over 6 months?", False, True),
        ("cancel my order ORD-10041 please", False, True),
        ("where is my order?", True, True),
        ("when will my GPS watch arrive?", True, True),
        ("How long will my refund take?", True, False),
        ("How long could I spread £650 over on a payment plan?", False, False),
        ("If I give you a reading today, how long will a corrected bill take?", False, False),
        ("I need to send you a reading but I'm not sure which numbers to give you.", False, False),
        ("How long do I have to return an item?", False, False),
        ("How much data have I used this month?", True, True),
        ("How much data have I used this month?", False, False),
        ("Was my last meter reading a real one or an estimate?", False, False),
    ],
)
def test_requests_are_told_from_questions(text: str, read: bool, expected: bool) -> None:
    assert is_request(text, read=read, verbs=["submit", "check", "set", "get", "cancel"]) is expected


def test_evidence_comes_from_the_actions_own_words() -> None:
    plan = ActionSpec.model_validate(
        {
            "name": "set_up_payment_plan",
            "description": "Set up a plan to repay a debit balance in monthly instalments.",
            "parameters": [{"name": "months", "type": "integer"}],
        }
    )
    assert evidence(plan, "I can't pay it all at once. Can I spread it over 6 months?") >= 3
    assert evidence(plan, "Can you change my payment?") < 3
    tariff = ActionSpec.model_validate(
        {
            "name": "change_plan",
            "description": "Move to another plan.",
            "parameters": [{"name": "plan", "type": "enum", "choices": ["basic", "fibre 900"]}],
        }
    )
    assert evidence(tariff, "I'd like to switch to fibre 900 please") >= 3  # a choice named in full


def test_only_the_customers_own_records_are_chosen() -> None:
    record = {
        "meters": [
            {"serial": "E17L330962", "fuel": "electricity", "type": "credit (digital)", "location": "hall"},
            {"serial": "G11R087245", "fuel": "gas", "type": "credit (metric)", "location": "hall"},
        ]
    }
    choices = record_choices(record, "meters[].serial")
    assert [c.label for c in choices] == ["E17L330962 (electricity)", "G11R087245 (gas)"]
    assert [c.value for c in narrow(choices, "my electricity meter says 18102", {"meter"}).pool] == ["E17L330962"]
    assert [c.value for c in narrow(choices, "meter g11r087245 please").pool] == ["G11R087245"]
    other = narrow(choices, "the meter E99X000001")
    assert other.unknown_id and not other.pool  # someone else's id: nothing chosen, nothing echoed


def test_a_confirmation_shows_every_parameter_and_a_result_reads_plainly() -> None:
    spec = ActionSpec.model_validate(
        {
            "name": "submit_meter_reading",
            "description": "Record a reading.",
            "kind": "write",
            "confirmation": "Submit {reading}?",
            "parameters": [{"name": "meter_serial"}, {"name": "reading", "type": "integer"}],
        }
    )
    text = confirmation_text(spec, {"meter_serial": "E17L330962", "reading": 18102}, {}, {})
    assert "18102" in text and "E17L330962" in text and text.endswith("Please reply yes or no.")
    balance = ActionSpec.model_validate({"name": "get_balance", "description": "Balance."})
    said = result_text(balance, {}, {}, {"balance": {"amount": 184.27, "status": "credit"}}, "", {}, "GBP")
    assert "184.27 GBP" in said and "credit" in said


def _call(spec: ActionSpec) -> ActionCall:
    return ActionCall("t", spec, {"months": 6}, "c1", "conv", datetime(2026, 3, 10), "key-1")


def test_the_http_executor_sends_the_key_and_turns_every_failure_into_action_failed() -> None:
    spec = ActionSpec.model_validate(
        {
            "name": "set_up_payment_plan",
            "description": "Plan.",
            "kind": "write",
            "executor": {
                "type": "http",
                "url": "https://api.example/plans/{customer_id}",
                "headers": {"X-Key": "${K}"},
            },
        }
    )
    seen: list[httpx.Request] = []

    def ok(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"reference": "R1"})

    result = HttpActionExecutor(httpx.MockTransport(ok), env={"K": "s3cret"}).call(_call(spec))
    assert result.data == {"reference": "R1"}
    assert seen[0].headers["Idempotency-Key"] == "key-1" and seen[0].headers["X-Key"] == "s3cret"
    assert seen[0].url.path == "/plans/c1"
    cases: list[tuple[httpx.MockTransport, str]] = [
        (httpx.MockTransport(lambda r: httpx.Response(500, text="boom")), "error"),
        (httpx.MockTransport(lambda r: httpx.Response(200, text="<html>")), "malformed"),
        (httpx.MockTransport(lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused"))), "unavailable"),
        (httpx.MockTransport(lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow"))), "timeout"),
    ]
    for transport, kind in cases:
        with pytest.raises(ActionFailed) as failed:
            HttpActionExecutor(transport, env={"K": "s3cret"}).call(_call(spec))
        assert failed.value.kind == kind
    with pytest.raises(ActionFailed) as missing:
        HttpActionExecutor(httpx.MockTransport(ok), env={}).call(_call(spec))
    assert missing.value.kind == "unconfigured" and "K" in missing.value.detail and "s3cret" not in str(missing.value)


def test_memory_from_before_configurable_actions_still_loads() -> None:
    old = {"kind": "cancel_order", "order_id": "ORD-1", "awaiting": "confirmation"}
    pending = PendingAction.model_validate(old)
    assert pending.action == "cancel_order" and pending.args == {"order_id": "ORD-1"} and pending.key
    assert PendingAction.model_validate(old).key == pending.key  # the same yes keeps the same key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lämp", {"lämp"}),
        ("Kühlschrank und Bürste", {"kühlschrank", "und", "bürste"}),
        ("STRASSE / Straße", {"strasse"}),  # casefolded: ß is ss
        ("Pâté en croûte", {"pâté", "en", "croûte"}),
        ("Crème brûlée", {"crème", "brûlée"}),
        ("Ηλεκτρική σκούπα", {"ηλεκτρική", "σκούπα"}),
        ("ΣΚΟΥΠΑ", {"σκουπα"}),
        ("Электрический чайник", {"электрический", "чайник"}),
        ("हिन्दी किताब", {"हिन्दी", "किताब"}),  # vowel signs are part of the word
        ("Cafe\u0301 noir", {"café", "noir"}),  # decomposed (as some keyboards send it) equals composed
        ("ＬＡＭＰ", {"lamp"}),  # full-width letters
    ],
)
def test_words_keep_letters_of_every_script(text: str, expected: set[str]) -> None:
    assert words_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the Desk Lamp, and 2 chairs!", {"desk", "lamp", "chairs", "chair"}),
        ("ORD-10041 my_order x", {"ord", "10041", "order"}),
        ("Sleeping bags (2-season)", {"sleeping", "bags", "bag", "season"}),
        ("", set()),
    ],
)
def test_ascii_words_are_as_before(text: str, expected: set[str]) -> None:
    assert words_of(text) == expected


def test_a_customer_picks_their_order_by_a_name_in_any_script() -> None:
    choices = [
        Choice("A-1", "A-1 (Bürste)", frozenset(words_of("Bürste"))),
        Choice("A-2", "A-2 (Würste)", frozenset(words_of("Würste"))),
        Choice("A-3", "A-3 (Чайник)", frozenset(words_of("Электрический чайник"))),
        Choice("A-4", "A-4 (Σκούπα)", frozenset(words_of("Ηλεκτρική σκούπα"))),
    ]
    assert [c.value for c in narrow(choices, "die Bürste bitte").pool] == ["A-1"]
    assert [c.value for c in narrow(choices, "мой чайник").pool] == ["A-3"]
    assert [c.value for c in narrow(choices, "τη σκούπα").pool] == ["A-4"]


def test_records_labelled_in_any_script() -> None:
    """A wordy field in a non-Latin script tells two records apart as an English one does."""
    record = {"meters": [{"serial": "M-1", "room": "кухня"}, {"serial": "M-2", "room": "гараж"}]}
    choices = record_choices(record, "meters[].serial")
    assert [c.label for c in choices] == ["M-1 (кухня)", "M-2 (гараж)"]
    assert [c.value for c in narrow(choices, "счётчик в гараж").pool] == ["M-2"]


def test_a_message_is_split_into_words_once_for_all_the_tenants_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Evidence scores every action of the tenant against the same message (an uncertain
    intent): the message is split into words once. Splitting non-ASCII text costs a Unicode
    lookup per character after NFKC; 4,000 characters of U+FDFA (18 letters each after NFKC)
    take ~13 ms, which was paid once per action on every such turn (4 actions: +45 ms CPU)."""
    import bot.actions.detect as detect
    from bot.intents import IntentPrediction

    text = "\ufdfa" * 4000 + " please refund my order"
    actions = [
        ActionSpec.model_validate({"name": f"refund_order_{i}", "description": "Refund an order."}) for i in range(6)
    ]
    split: list[str] = []
    words = detect.words_of
    monkeypatch.setattr(detect, "words_of", lambda t: split.append(t) or words(t))
    uncertain = IntentPrediction(intent=None, confidence=0.2, best="refund_order_0")
    detect.requested_action(uncertain, actions, text)
    detect.requested_action(uncertain, actions, text)  # the same message again (another turn step)
    assert sum(t == text for t in split) == 1
    assert detect.evidence(actions[0], "refund my order") == detect.evidence(actions[0], "refund my order") > 0
