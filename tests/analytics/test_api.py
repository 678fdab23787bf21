"""The HTTP surface: the widget's end-and-rate flow (token-checked, once, after close) and the
supervisor's metrics, drill-down and CSV (supervisor role; bad filters are clear 4xx)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml
from fastapi.testclient import TestClient

from analytics import TABLES
from tests.conftest import AGENT, DEMO_DIR, SUPERVISOR, customer_headers


def _start(client: TestClient, customer: str | None = "cus_001") -> str:
    r = client.post("/api/conversations", json={}, headers=customer_headers(customer))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _today() -> str:
    """Today in the demo tenant's timezone: the supervisor's days are the tenant's days (at
    23:30 UTC it is already tomorrow in a timezone east of UTC)."""
    zone = yaml.safe_load((DEMO_DIR / "tenant.yaml").read_text(encoding="utf-8"))["timezone"]
    return datetime.now(ZoneInfo(zone)).date().isoformat()


def _metrics(client: TestClient, **params: str) -> dict:  # type: ignore[type-arg]
    r = client.get("/api/supervisor/metrics", params={"start": _today(), "end": _today(), **params}, headers=SUPERVISOR)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_csat_is_asked_after_close_records_one_answer_refuses_a_second_and_counts(client: TestClient) -> None:
    me = customer_headers("cus_001")
    conv = _start(client)
    client.post(f"/api/conversations/{conv}/messages", json={"text": "I want to talk to a person"}, headers=me)
    url = f"/api/conversations/{conv}/csat"

    status = client.get(url, headers=me).json()
    assert status == {"conversation_id": conv, "asked": False, "answered": False, "response": None}
    early = client.post(url, json={"rating": 5}, headers=me)
    assert early.status_code == 409 and "still open" in early.json()["error"]

    assert client.post(f"/api/agent/conversations/{conv}/close", headers=AGENT).json()["state"] == "closed"
    assert client.get(url, headers=me).json()["asked"] is True

    assert client.post(url, json={"rating": 5}, headers=customer_headers("cus_002")).status_code == 403
    assert client.post(url, json={"rating": 5}, headers=AGENT).status_code == 403
    assert client.post(url, json={"rating": 6}, headers=me).status_code == 422
    assert client.post(url, json={"rating": 4, "stars": 5}, headers=me).status_code == 422

    answer = {"rating": 4, "comment": "Fast help. Write me at jane.doe@example.com", "resolved": True}
    r = client.post(url, json=answer, headers=me)
    assert r.status_code == 201, r.text
    assert r.json()["rating"] == 4 and r.json()["resolved"] is True
    assert "jane.doe@example.com" not in r.json()["comment"]  # personal data removed at the door

    again = client.post(url, json={"rating": 1}, headers=me)
    assert again.status_code == 409 and "already been rated" in again.json()["error"]
    assert client.get(url, headers=me).json()["answered"] is True

    s = _metrics(client)["summary"]
    assert s["csat_score"] == {"numerator": 1, "denominator": 1, "value": 1.0}
    assert s["csat_response"] == {"numerator": 1, "denominator": 1, "value": 1.0}
    rows = client.get(
        "/api/supervisor/metrics/conversations",
        params={"start": _today(), "end": _today(), "measure": "csat:4"},
        headers=SUPERVISOR,
    ).json()
    assert [c["id"] for c in rows["data"]] == [conv]


def test_the_customer_ends_the_chat_once_and_nothing_to_rate_is_refused(client: TestClient) -> None:
    me = customer_headers("cus_003")
    conv = _start(client, "cus_003")
    other = customer_headers("cus_004")
    assert client.post(f"/api/conversations/{conv}/end", json={}, headers=other).status_code == 403
    r = client.post(f"/api/conversations/{conv}/end", json={}, headers=me)
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert client.post(f"/api/conversations/{conv}/end", json={}, headers=me).json()["state"] == "closed"
    nothing = client.post(f"/api/conversations/{conv}/csat", json={"rating": 3}, headers=me)
    assert nothing.status_code == 409 and "nothing to rate" in nothing.json()["error"]
    assert client.post("/api/conversations/nope/csat", json={"rating": 3}, headers=me).status_code == 404
    assert _metrics(client)["summary"]["empty"] >= 1  # opened and ended without a word: not counted


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"start": "2026-11-10", "end": "2026-11-01"}, "before it starts"),
        ({"start": "2024-01-01", "end": "2026-11-01"}, "longer than"),
        ({"start": "yesterday"}, "start"),
        ({"bucket": "month"}, "bucket"),
        ({"queue": "q" * 65}, "queue"),
    ],
)
def test_bad_filters_are_clear_422s(client: TestClient, params: dict[str, str], says: str) -> None:
    r = client.get("/api/supervisor/metrics", params=params, headers=SUPERVISOR)
    assert r.status_code == 422, r.text
    assert says in r.json()["error"]


def test_unknown_measure_or_table_names_what_is_allowed(client: TestClient) -> None:
    r = client.get("/api/supervisor/metrics/conversations", params={"measure": "happiness"}, headers=SUPERVISOR)
    assert r.status_code == 422 and "bot_resolved" in r.json()["error"]
    r = client.get("/api/supervisor/metrics/export/everything.csv", headers=SUPERVISOR)
    assert r.status_code == 422 and "handoff_reasons" in r.json()["error"]


def test_every_table_exports_as_csv_with_its_header(client: TestClient) -> None:
    me = customer_headers("cus_005")
    conv = _start(client, "cus_005")
    client.post(f"/api/conversations/{conv}/messages", json={"text": "I want to talk to a person"}, headers=me)
    client.post(f"/api/agent/conversations/{conv}/close", headers=AGENT)
    client.post(f"/api/conversations/{conv}/csat", json={"rating": 2, "comment": '=HYPERLINK("x")'}, headers=me)
    report = _metrics(client)
    for table, model in TABLES.items():
        r = client.get(
            f"/api/supervisor/metrics/export/{table}.csv",
            params={"start": _today(), "end": _today()},
            headers=SUPERVISOR,
        )
        assert r.status_code == 200, (table, r.text)
        assert r.headers["content-type"].startswith("text/csv")
        assert f'filename="{table}_' in r.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0] == list(model.model_fields), table
        if table in report and isinstance(report[table], list):
            assert len(rows) - 1 == len(report[table]), table
    today = {"start": _today(), "end": _today()}
    comments = client.get("/api/supervisor/metrics/export/csat_comments.csv", params=today, headers=SUPERVISOR).text
    assert "'=HYPERLINK" in comments  # a formula is written as text, never run by a spreadsheet
    summary = dict(
        (row[0], row[1])
        for row in csv.reader(
            io.StringIO(
                client.get(
                    "/api/supervisor/metrics/export/summary.csv",
                    params={"start": _today(), "end": _today()},
                    headers=SUPERVISOR,
                ).text
            )
        )
    )
    assert summary["handoff"] == "1.0" and summary["conversations"] == "1"


def test_metrics_are_for_supervisors_only(client: TestClient) -> None:
    assert client.get("/api/supervisor/metrics", headers=AGENT).status_code == 403
    assert client.get("/api/supervisor/metrics", headers=customer_headers()).status_code == 403
    assert client.get("/api/supervisor/metrics").status_code == 403
    r = client.get("/api/supervisor/metrics", headers=SUPERVISOR)  # default: the last 30 days
    assert r.status_code == 200
    f = r.json()["filter"]
    assert f["end"] == _today() and f["bucket"] == "day"
    assert len(r.json()["series"]) == 30
    page = client.get("/supervisor")
    assert page.status_code == 200 and "/static/chart.umd.min.js" in page.text
    assert client.get("/static/chart.umd.min.js").status_code == 200


def test_erasing_a_customer_removes_their_ratings(client: TestClient, demo_services: object) -> None:
    from sqlalchemy import func, select

    from core.db.schema import CsatResponse

    me = customer_headers("cus_006")
    conv = _start(client, "cus_006")
    client.post(f"/api/conversations/{conv}/messages", json={"text": "I want to talk to a person"}, headers=me)
    client.post(f"/api/agent/conversations/{conv}/close", headers=AGENT)
    assert (
        client.post(f"/api/conversations/{conv}/csat", json={"rating": 1, "comment": "slow"}, headers=me).status_code
        == 201
    )
    assert client.delete("/api/admin/customers/cus_006", headers=SUPERVISOR).status_code == 200
    with demo_services.store.session("larkspur") as s:  # type: ignore[attr-defined]
        assert s.scalar(select(func.count()).select_from(CsatResponse)) == 0


def test_the_public_surface_is_pinned() -> None:
    import analytics

    assert sorted(analytics.__all__) == sorted(
        [
            "MEASURES",
            "TABLES",
            "AlreadyRated",
            "Analytics",
            "AnalyticsParams",
            "BadAnalyticsConfig",
            "BadFilter",
            "Bucket",
            "ConversationsReport",
            "CsatBook",
            "CsatIn",
            "CsatPublic",
            "CsatStatus",
            "GapFinder",
            "GapsReport",
            "MetricsFilter",
            "MetricsReport",
            "NotRatable",
        ]
    )
    assert all(hasattr(analytics, name) for name in analytics.__all__)
