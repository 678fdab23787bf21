"""The editor's API under /api/kb and the /editor page: upload, list, versions, delete,
search, per-file errors, and roles (editors yes, agents and customers no)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import AGENT, EDITOR, customer_headers
from tests.knowledge.samples import FAQ_CSV, MARKDOWN


def test_editor_uploads_lists_versions_searches_and_deletes(client: TestClient) -> None:
    files = [
        ("files", ("returns.md", MARKDOWN.encode(), "text/markdown")),
        ("files", ("shipping.csv", FAQ_CSV.encode(), "text/csv")),
        ("files", ("broken.pdf", b"%PDF-1.4 garbage", "application/pdf")),
        ("files", ("empty.txt", b"", "text/plain")),
    ]
    r = client.post("/api/kb/upload", headers=EDITOR, files=files)
    assert r.status_code == 200, r.text
    report = r.json()
    assert "returns-policy" in report["updated"] + report["added"]
    assert set(report["errors"]) == {"upload:broken.pdf", "upload:empty.txt"}
    assert "corrupt" in report["errors"]["upload:broken.pdf"]

    listed = client.get("/api/kb/articles", headers=EDITOR).json()
    assert listed["count"] == len(listed["data"]) and "shipping-do-you-ship-to-norway" in {
        a["id"] for a in listed["data"]
    }

    changed = MARKDOWN.replace("30 days", "45 days").encode()
    again = client.post("/api/kb/upload", headers=EDITOR, files=[("files", ("returns.md", changed, "text/markdown"))])
    assert again.json()["updated"] == ["returns-policy"]
    versions = client.get("/api/kb/articles/returns-policy/versions", headers=EDITOR).json()
    assert [v["live"] for v in versions][-1] is True and len(versions) >= 2
    detail = client.get("/api/kb/articles/returns-policy", headers=EDITOR).json()
    assert "45 days" in detail["body"] and detail["version"] == versions[-1]["version"] and detail["chunks"]

    found = client.get("/api/kb/search", headers=EDITOR, params={"q": "ship to Norway", "visibility": "public"}).json()
    assert found["data"][0]["article_id"] == "shipping-do-you-ship-to-norway"
    assert all(p["visibility"] == "public" for p in found["data"])

    assert client.delete("/api/kb/articles/returns-policy", headers=EDITOR).json() == {
        "id": "returns-policy",
        "deleted": True,
    }
    assert client.get("/api/kb/articles/returns-policy", headers=EDITOR).status_code == 404


def test_roles_upload_limit_and_editor_page(client: TestClient) -> None:
    assert client.get("/api/kb/articles", headers=AGENT).status_code == 403
    assert client.get("/api/kb/articles", headers=customer_headers()).status_code == 403
    assert client.get("/api/kb/articles").status_code == 403
    files = [("files", ("a.md", b"# A\n\ntext", "text/markdown"))]
    assert client.post("/api/kb/upload", headers=AGENT, files=files).status_code == 403
    limit = client.app.state.services.settings.max_upload_bytes  # type: ignore[attr-defined]
    big = [("files", ("big.txt", b"x" * (limit + 10), "text/plain"))]
    assert client.post("/api/kb/upload", headers=EDITOR, files=big).status_code == 413
    page = client.get("/editor")
    assert page.status_code == 200 and "/static/editor.js" in page.text
    assert "/api/kb/upload" in client.get("/static/editor.js").text
