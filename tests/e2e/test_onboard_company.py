"""A second company onboarded through the CLI alone (tenant apply, kb load, crm import) and
served beside the demo shop in one real server process, with the real bundled models.

The company is the dev-set energy supplier in ``../shared/data/companies`` (its admin-export
configuration, Markdown help center and CRM export), read where it lies: nothing copied."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from server.auth import sign_widget_token
from server.secrets import derived_secret
from tests.conftest import ROOT, SHARED_DATA, make_settings
from tests.e2e.server import finish_demo_load, running_server, server_env, start_demo_load

pytestmark = pytest.mark.e2e
COMPANY = SHARED_DATA / "companies" / "brightwater"


def _cli(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", "from server.cli.main import main; main()", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"switchboard {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.mark.skipif(not COMPANY.is_dir(), reason="shared data not present")
def test_a_company_onboarded_from_its_files_answers_beside_the_demo(tmp_path: Path) -> None:
    cases = yaml.safe_load((COMPANY / "cases.yaml").read_text(encoding="utf-8"))
    admin = yaml.safe_load((COMPANY / "tenant.yaml").read_text(encoding="utf-8"))
    tenant, company = admin["tenant"]["id"], admin["tenant"]["name"]
    keys = {"dev-agent-key": ":agent", "dev-admin-key": "*:admin", "company-agent-key": f"{tenant}:agent"}
    env = server_env(tmp_path, api_keys=json.dumps(keys))
    finish_demo_load(start_demo_load(env))  # one writer at a time on the SQLite file
    assert "created" in _cli(env, "tenant", "apply", str(COMPANY / "tenant.yaml"))
    assert " 0 errors" in _cli(env, "kb", "load", "--tenant", tenant, str(COMPANY / cases["kb_dir"]))
    assert " 0 errors" in _cli(env, "crm", "import", "--tenant", tenant, str(COMPANY / cases["crm_file"]))

    case = next(c for c in cases["cases"] if c["kind"] == "answerable" and len(c["turns"]) == 1)
    customer_id = next(c["customer_id"] for c in cases["cases"] if c.get("customer_id"))
    record = next(r for r in json.loads((COMPANY / cases["crm_file"]).read_text()) if r["id"] == customer_id)
    custom = {k for k in record if k not in {"id", "name", "email", "phone", "address", "language", "tickets"}}
    token = sign_widget_token(derived_secret(make_settings(tmp_path), tenant), tenant, customer_id)
    bearer = {"Authorization": f"Bearer {token}"}
    with running_server(env, tmp_path / "server.log") as base, httpx.Client(base_url=base, timeout=180) as http:
        profile = http.get("/api/widget/profile", headers=bearer).json()
        assert profile["company"] == company
        assert profile["bot_name"] in profile["greeting"] and profile["bot_name"].split()[0] in company
        conv = http.post("/api/conversations", json={}, headers=bearer).json()
        turn = http.post(f"/api/conversations/{conv['id']}/messages", json={"text": case["turns"][0]}, headers=bearer)
        assert turn.status_code == 200, turn.text
        [reply] = [m for m in turn.json()["replies"] if m["author"] == "bot"]
        cited = [c["article_id"] for c in reply["citations"]]
        prefix = case["expect"]["articles"][0].split("-")[0] + "-"
        assert cited and all(a.startswith(prefix) for a in cited), reply
        # The demo shop is still served, in its own name, by the same process.
        demo = http.get("/api/demo/session").json()
        demo_profile = http.get("/api/widget/profile", headers={"Authorization": f"Bearer {demo['token']}"}).json()
        assert demo_profile["company"] not in ("", company)
        # The company's agent sees the customer's custom attributes; the demo's agent sees nothing of it.
        seen = http.get(f"/api/agent/conversations/{conv['id']}/customer", headers={"X-API-Key": "company-agent-key"})
        assert seen.status_code == 200, seen.text
        assert set(seen.json()["attributes"]) == custom
        other = http.get(f"/api/agent/conversations/{conv['id']}/customer", headers={"X-API-Key": "dev-agent-key"})
        assert other.status_code == 404
