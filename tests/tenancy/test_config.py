"""The tenant configuration file: the demo's and a converted admin export validate; bad files
fail with errors naming the file, the field and what is allowed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.hours import BusinessHours
from core.tenancy import TenantConfigError, load_tenant_file, parse_tenant_config
from core.tenancy.convert import admin_to_config, looks_like_admin_layout
from tests.conftest import DEMO_DIR, SHARED_DATA

BRIGHTWATER = SHARED_DATA / "companies" / "brightwater"
MINIMAL = "id: acme\nname: Acme Energy\ntimezone: Europe/London\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(exc: pytest.ExceptionInfo[TenantConfigError]) -> dict[str, str]:
    return dict(exc.value.problems)


def test_the_demo_configuration_validates() -> None:
    config = load_tenant_file(DEMO_DIR / "tenant.yaml")
    assert config.id == "larkspur" and config.currency == "EUR"
    assert {a.name for a in config.actions} == {"order_status", "start_return", "change_address", "cancel_order"}
    stored = config.stored(DEMO_DIR / "tenant.yaml")
    assert Path(stored["nlu_file"]).is_file()


@pytest.mark.skipif(not BRIGHTWATER.is_dir(), reason="shared data not present")
def test_an_admin_export_converts_and_keeps_everything_it_says() -> None:
    raw = yaml.safe_load((BRIGHTWATER / "tenant.yaml").read_text(encoding="utf-8"))
    assert looks_like_admin_layout(raw)
    conversion = admin_to_config(raw)
    config = parse_tenant_config(conversion.data, "tenant.yaml")
    assert config.timezone == raw["tenant"]["timezone"]
    assert config.currency == raw["tenant"]["currency"]
    assert len(config.closed_dates) == len(raw["tenant"]["closed_dates"])
    assert len(config.copilot.next_actions) == len(raw["copilot"]["next_actions"])
    assert {a.name for a in config.actions} == {a["name"] for a in raw["self_service_actions"]}
    assert set(config.queues) == set(raw["handoff"]["queues"])
    assert [t.key for t in config.sensitive_topics] == [t["key"] for t in raw["sensitive_topics"]]
    writes = {a.name for a in config.actions if a.kind == "write"}
    assert all(a.needs_confirmation for a in config.actions if a.name in writes)
    # A closed date is closed all day, even inside the weekday's hours.
    hours = BusinessHours.from_typed(config)
    holiday = config.closed_dates[0]
    assert not hours.is_open(datetime(holiday.year, holiday.month, holiday.day, 11, 0, tzinfo=UTC))
    # What has no setting of ours is reported, not dropped silently.
    assert any(field.startswith("assistant.") for field in conversion.ignored)


def test_an_unknown_field_names_the_file_the_field_and_what_is_allowed(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "handof: {}\n")
    with pytest.raises(TenantConfigError) as exc:
        load_tenant_file(path)
    assert str(path) in str(exc.value)
    problems = _problems(exc)
    assert "handof" in problems and "allowed:" in problems["handof"] and "handoff" in problems["handof"]


def test_a_nested_unknown_field_lists_the_nested_fields(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "handoff: {max_failed: 3}\n")
    with pytest.raises(TenantConfigError) as exc:
        load_tenant_file(path)
    assert "max_failed_attempts" in _problems(exc)["handoff.max_failed"]


def test_a_wrong_timezone_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "id: acme\nname: Acme\ntimezone: Europe/Londn\n")
    with pytest.raises(TenantConfigError) as exc:
        load_tenant_file(path)
    assert "IANA" in _problems(exc)["timezone"]


def test_a_day_spelled_wrong_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "business_hours: {tuseday: '08:00-20:00'}\n")
    with pytest.raises(TenantConfigError) as exc:
        load_tenant_file(path)
    message = _problems(exc)["business_hours"]
    assert "tuseday" in message and "tuesday" in message


def test_hours_must_open_before_they_close(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "business_hours: {monday: '20:00-08:00'}\n")
    with pytest.raises(TenantConfigError) as exc:
        load_tenant_file(path)
    assert "HH:MM-HH:MM" in _problems(exc)["business_hours"]


def test_a_missing_required_field_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "id: acme\ntimezone: UTC\n")
    with pytest.raises(TenantConfigError) as exc:
        load_tenant_file(path)
    assert _problems(exc) == {"name": "required field is missing"}


def test_a_secret_in_place_of_a_variable_name_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "widget_secret_env: 'hunter2 hunter2'\n")
    with pytest.raises(TenantConfigError) as exc:
        load_tenant_file(path)
    assert "environment variable" in _problems(exc)["widget_secret_env"]


def test_yaml_aliases_are_refused(tmp_path: Path) -> None:
    bomb = MINIMAL + "a: &a ['x','x']\nb: &b [*a, *a]\nc: [*b, *b]\n"
    with pytest.raises(TenantConfigError) as exc:
        load_tenant_file(_write(tmp_path, bomb))
    assert "aliases" in str(exc.value)


def test_not_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(TenantConfigError) as exc:
        load_tenant_file(_write(tmp_path, MINIMAL + "queues: [unclosed\n"))
    assert "line" in next(iter(_problems(exc)))
