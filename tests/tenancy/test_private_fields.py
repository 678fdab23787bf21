"""A tenant's ``private_fields`` (CRM fields the bot never shows a customer; agents see them)
and the admin-export conversion."""

from __future__ import annotations

from core.tenancy import parse_tenant_config
from core.tenancy.convert import admin_to_config
from knowledge.context import without_fields


def test_private_fields_are_dropped_at_any_depth_and_in_lists() -> None:
    record = {
        "name": "A",
        "Meter_Point": "123",
        "meters": [{"serial": "S1", "meter_point": "999", "last": {"meter_point": "7", "value": 5}}],
        "balance": {"amount": 10.5},
    }
    out = without_fields(record, ["meter_point"])
    assert out == {"name": "A", "meters": [{"serial": "S1", "last": {"value": 5}}], "balance": {"amount": 10.5}}
    assert record["meters"][0]["meter_point"] == "999"  # the stored record is untouched


def test_admin_layout_redaction_never_show_becomes_private_fields() -> None:
    data = {
        "tenant": {"id": "acme", "name": "Acme"},
        "assistant": {"redaction": {"never_show": ["date_of_birth", "meter_point"]}, "tone": "warm"},
    }
    conversion = admin_to_config(data)
    config = parse_tenant_config(conversion.data, "tenant.yaml")
    assert config.private_fields == ["date_of_birth", "meter_point"]
    assert "assistant.tone" in conversion.ignored  # reported, not dropped silently
    assert "assistant.redaction" not in conversion.ignored


def test_a_misspelled_admin_field_is_an_error_not_a_silent_default() -> None:
    """"timezon" would leave the timezone at its default (UTC): refused, with the likely field."""
    data = {"tenant": {"id": "acme", "name": "Acme", "timezon": "Europe/London"}, "assistant": {"persna": "x"}}
    conversion = admin_to_config(data)
    assert ("tenant.timezon", "unknown field; did you mean 'timezone'?") in conversion.errors
    assert any(where == "assistant.persna" for where, _ in conversion.errors)
    unmodelled = admin_to_config({"tenant": {"id": "acme", "name": "Acme", "owner": "IT"}})
    assert unmodelled.errors == [] and "tenant.owner" in unmodelled.ignored  # reported only
    other_redaction = admin_to_config(
        {"tenant": {"id": "acme", "name": "Acme"}, "assistant": {"redaction": {"mask": []}}}
    )
    assert other_redaction.errors == [] and "assistant.redaction" in other_redaction.ignored  # a field we read
