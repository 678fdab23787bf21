"""Onboarding through the commands and the admin API: apply, import the CRM export with its
custom attributes, report bad records without half-writing anything, delete."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.db.schema import AuditEntry, Customer, Ticket
from core.settings import Settings
from core.tenancy.registry import TenantRegistry
from server.app import create_app
from server.cli.main import app as cli
from server.container import Services
from server.tenants import Onboarding
from tests.conftest import ADMIN, SUPERVISOR, make_settings

ACME = """\
id: acme
name: Acme Energy
timezone: Europe/London
currency: GBP
scope: bills, meters and payments
business_hours: {monday: "08:00-18:00", sunday: closed}
queues: {billing: {topics: [bill_query]}, general: {}}
"""
RECORDS = [
    {
        "id": "A-1",
        "name": "Ada Lovelace",
        "email": "ada@example.test",
        "address": "1 Analytical Row, Engine Town, EN1 1AA",
        "tariff": {"name": "Steady 12", "unit_rates": {"electricity_p_per_kwh": 24.5}},
        "balance": {"amount": 112.4, "status": "debit"},
        "meters": [{"serial": "E1X001", "last_reading": {"value": 1234, "type": "actual"}}],
        "tickets": [{"id": "T-1", "opened": "2026-01-02", "subject": "Bill query", "status": "open", "notes": "x"}],
    },
    {"id": "A-2", "name": "Charles Babbage", "payment_plan": {"months": 6, "amount": 50}},
]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI reads its settings from the environment, as a user's shell would set them."""
    for key in list(os.environ):
        if key.startswith("SWITCHBOARD_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SWITCHBOARD_ENVIRONMENT", "test")
    monkeypatch.setenv("SWITCHBOARD_CHAT_BACKEND", "fake")
    monkeypatch.setenv("SWITCHBOARD_EMBEDDER_BACKEND", "fake")
    (tmp_path / "acme.yaml").write_text(ACME, encoding="utf-8")
    (tmp_path / "crm.json").write_text(json.dumps(RECORDS), encoding="utf-8")
    return tmp_path


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Services]:
    s = Services(make_settings(tmp_path / "svc"))
    yield s
    s.close()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_cli_onboards_a_company_and_reports_changes(env: Path) -> None:
    code, out = _run("tenant", "apply", str(env / "acme.yaml"))
    assert code == 0 and "tenant acme: created" in out
    code, out = _run("tenant", "apply", str(env / "acme.yaml"))
    assert code == 0 and "unchanged" in out
    (env / "acme.yaml").write_text(ACME.replace("GBP", "EUR"), encoding="utf-8")
    code, out = _run("tenant", "apply", str(env / "acme.yaml"))
    assert code == 0 and "currency: 'GBP' -> 'EUR'" in out
    code, out = _run("crm", "import", "--tenant", "acme", str(env / "crm.json"))
    assert code == 0 and "2 created, 0 updated, 0 errors" in out
    code, out = _run("crm", "import", "--tenant", "acme", str(env / "crm.json"))
    assert code == 0 and "0 created, 2 updated, 0 errors" in out  # upsert by id
    code, out = _run("tenant", "list")
    assert "acme\tAcme Energy" in out
    code, out = _run("tenant", "show", "acme", "--json")
    assert json.loads(out)["currency"] == "EUR"


def test_cli_init_writes_a_template_that_applies(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(env)  # restored afterwards: later tests resolve demo/ from the repo root
    code, out = _run("tenant", "init", "Zeta Water")
    assert code == 0 and (env / "zeta-water.yaml").is_file()
    code, out = _run("tenant", "apply", str(env / "zeta-water.yaml"))
    assert code == 0, out
    code, out = _run("tenant", "init", "Zeta Water")
    assert code == 2 and "--force" in out


def test_cli_refuses_a_bad_configuration_with_file_and_field(env: Path) -> None:
    bad = env / "bad.yaml"
    bad.write_text(ACME + "colour: blue\n", encoding="utf-8")
    code, out = _run("tenant", "apply", str(bad))
    assert code == 2 and str(bad) in out and "colour: unknown field" in out


def test_cli_delete_needs_confirmation_and_erases_everything(env: Path) -> None:
    _run("tenant", "apply", str(env / "acme.yaml"))
    _run("crm", "import", "--tenant", "acme", str(env / "crm.json"))
    code, out = _run("tenant", "delete", "acme")
    assert code == 2 and "--yes" in out
    code, out = _run("tenant", "delete", "acme", "--yes")
    assert code == 0 and "customers 2" in out
    code, out = _run("tenant", "list")
    assert "acme" not in out


def test_kb_load_refuses_an_unknown_tenant(env: Path) -> None:
    (env / "kb").mkdir()
    (env / "kb" / "a.md").write_text("# Hello\n\nText.\n", encoding="utf-8")
    code, out = _run("kb", "load", "--tenant", "nobody", str(env / "kb"))
    assert code == 2 and "tenant apply" in out


def test_custom_attributes_are_this_customers_facts(svc: Services, tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(ACME, encoding="utf-8")
    onboarding = Onboarding(svc)
    onboarding.apply_file(tmp_path / "acme.yaml")
    report = onboarding.import_records("acme", RECORDS, "crm.json", actor="test")
    assert (report.created, len(report.errors)) == (2, 0)
    facts = svc.context.facts("acme", "A-1")
    assert facts is not None
    assert facts.attributes["tariff"] == {"name": "Steady 12", "unit_rates": {"electricity_p_per_kwh": 24.5}}
    assert facts.attributes["balance"]["amount"] == 112.4  # typed as imported
    assert facts.attributes["meters"][0]["last_reading"]["value"] == 1234
    assert [t.id for t in facts.tickets] == ["T-1"]
    assert "tickets" not in facts.attributes  # nested tickets became ticket rows
    assert svc.context.facts("acme", "A-2").attributes["payment_plan"]["months"] == 6  # type: ignore[union-attr]
    assert svc.context.facts("other", "A-1") is None  # another tenant sees nothing


def test_free_text_in_attributes_is_redacted(svc: Services, tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(ACME, encoding="utf-8")
    onboarding = Onboarding(svc)
    onboarding.apply_file(tmp_path / "acme.yaml")
    record = {"id": "A-9", "name": "X", "contact": {"note": "card 4111 1111 1111 1111 on file"}}
    onboarding.import_records("acme", [record], "crm.json", actor="test")
    facts = svc.context.facts("acme", "A-9")
    assert facts is not None and "4111 1111 1111 1111" not in json.dumps(facts.attributes)


def test_bad_records_are_reported_and_the_rest_imported(svc: Services, tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(ACME, encoding="utf-8")
    onboarding = Onboarding(svc)
    onboarding.apply_file(tmp_path / "acme.yaml")
    records = [
        {"id": "B-1", "name": "Good"},
        {"name": "No id"},
        {"id": "B-1", "name": "Duplicate"},
        {"id": "B-2", "name": "Bad nested", "tickets": "not a list"},
        {"id": "B-3", "name": "Bad ticket", "tickets": [{"id": "T-9", "subject": "ok"}, "oops"]},
        "not an object",
        {"id": "B-4", "name": "Also good"},
    ]
    report = onboarding.import_records("acme", records, "crm.json", actor="test")
    errors = {r.index: (r.id, r.error) for r in report.errors}
    assert set(errors) == {2, 3, 4, 5, 6}
    assert "no id" in errors[2][1]
    assert errors[3][0] == "B-1" and "duplicate" in errors[3][1] and "record 1" in errors[3][1]
    assert "tickets must be a list" in errors[4][1]
    assert "tickets[2]" in errors[5][1]
    with svc.store.session("acme") as s:
        names = {c.external_id: c.name for c in s.query(Customer)}
        tickets = [t.external_id for t in s.query(Ticket)]
        audit = [a.action for a in s.query(AuditEntry)]
    assert names == {"B-1": "Good", "B-4": "Also good"}  # the first B-1 wins; B-2, B-3 not half-written
    assert tickets == []  # B-3's first ticket was rolled back with it
    assert "crm.imported" in audit


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('"just a string"', "expected a JSON array"),
        ("\xff\xfe", "not UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_error_and_the_other_files_import(
    svc: Services, tmp_path: Path, content: str, expected: str
) -> None:
    (tmp_path / "acme.yaml").write_text(ACME, encoding="utf-8")
    onboarding = Onboarding(svc)
    onboarding.apply_file(tmp_path / "acme.yaml")
    bad = tmp_path / "bad.json"
    bad.write_bytes(content.encode("latin-1"))
    good = tmp_path / "good.jsonl"
    good.write_text('{"id": "J-1", "name": "Line one"}\n{"id": "J-2", "name": "Line two"}\n', encoding="utf-8")
    reports = onboarding.import_crm("acme", [bad, good])
    assert expected in reports[0].errors[0].error and "bad.json" in reports[0].errors[0].error
    assert reports[1].created == 2


def test_a_50_mb_file_is_over_the_limit(svc: Services, tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(ACME, encoding="utf-8")
    onboarding = Onboarding(svc)
    onboarding.apply_file(tmp_path / "acme.yaml")
    big = tmp_path / "big.json"
    with big.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    [report] = onboarding.import_crm("acme", [big])
    assert "50.0 MiB; the limit is 25 MiB" in report.errors[0].error


def test_csv_with_dotted_headers_nests(svc: Services, tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(ACME, encoding="utf-8")
    onboarding = Onboarding(svc)
    onboarding.apply_file(tmp_path / "acme.yaml")
    csv_file = tmp_path / "crm.csv"
    csv_file.write_text("id,name,tariff.name,balance.amount\nC-1,Cee,Flex,12.50\n", encoding="utf-8")
    [report] = onboarding.import_crm("acme", [csv_file])
    assert report.created == 1
    facts = svc.context.facts("acme", "C-1")
    assert facts is not None and facts.attributes == {"tariff": {"name": "Flex"}, "balance": {"amount": 12.5}}


def test_two_companies_in_one_process_keep_their_own_policies(svc: Services, tmp_path: Path) -> None:
    from bot.tenant import load_policy
    from server.demo import load_demo

    load_demo(svc)
    (tmp_path / "acme.yaml").write_text(ACME, encoding="utf-8")
    Onboarding(svc).apply_file(tmp_path / "acme.yaml")
    demo, acme = load_policy(svc.store, "larkspur"), load_policy(svc.store, "acme")
    assert (demo.name, demo.currency, demo.hours.timezone) == ("Larkspur", "EUR", "Europe/Berlin")
    assert (acme.name, acme.currency, acme.hours.timezone) == ("Acme Energy", "GBP", "Europe/London")
    assert acme.queue_for("bill_query") == "billing"
    assert svc.intents.for_tenant("larkspur") is not None and svc.intents.for_tenant("acme") is None


def test_admin_api_creates_updates_and_scopes_supervisors(tmp_path: Path) -> None:
    settings: Settings = make_settings(tmp_path)
    services = Services(settings)
    from server.demo import load_demo

    load_demo(services)
    with TestClient(create_app(services=services)) as client:
        config = {"id": "acme", "name": "Acme Energy", "timezone": "Europe/London"}
        r = client.put("/api/admin/tenants/acme", json=config, headers=SUPERVISOR)
        assert r.status_code == 404  # another tenant is invisible to the demo's supervisor
        r = client.put("/api/admin/tenants/acme", json=config, headers=ADMIN)
        assert r.status_code == 200 and r.json()["created"] is True
        r = client.put("/api/admin/tenants/acme", json={**config, "timezone": "Mars/Base"}, headers=ADMIN)
        assert r.status_code == 422 and "timezone" in r.json()["error"]
        r = client.put("/api/admin/tenants/acme", json={**config, "id": "other"}, headers=ADMIN)
        assert r.status_code == 422
        files = {"files": ("crm.json", json.dumps(RECORDS), "application/json")}
        r = client.post("/api/admin/tenants/acme/crm", files=files, headers=ADMIN)
        assert r.status_code == 200 and r.json()[0]["created"] == 2
        r = client.get("/api/admin/tenants", headers=ADMIN)
        assert {t["id"] for t in r.json()["data"]} == {"acme", "larkspur"}
        assert client.get("/api/admin/tenants", headers=SUPERVISOR).status_code == 403
        r = client.get("/api/admin/tenants/larkspur", headers=SUPERVISOR)
        assert r.status_code == 200 and r.json()["currency"] == "EUR"
        assert client.delete("/api/admin/tenants/acme", headers=ADMIN).status_code == 422  # needs confirm
        assert client.delete("/api/admin/tenants/acme?confirm=true", headers=ADMIN).status_code == 200
        assert TenantRegistry(services.store).find("acme") is None
    services.close()


def test_private_fields_are_kept_from_the_bot_and_shown_to_agents(svc: Services, tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(ACME + "private_fields: [serial]\n", encoding="utf-8")
    onboarding = Onboarding(svc)
    onboarding.apply_file(tmp_path / "acme.yaml")
    onboarding.import_records("acme", RECORDS, "crm.json", actor="test")
    bot = svc.context.facts("acme", "A-1")
    agent = svc.context.facts("acme", "A-1", for_agent=True)
    assert bot is not None and agent is not None
    assert "serial" not in bot.attributes["meters"][0]
    assert bot.attributes["meters"][0]["last_reading"]["value"] == 1234  # the rest is kept
    assert agent.attributes["meters"][0]["serial"] == "E1X001"
