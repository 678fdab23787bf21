"""Every loader on small real files, and the per-file errors an editor sees."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.errors import InvalidInput, PayloadTooLarge
from core.types import Visibility
from knowledge.loaders.files import load_path
from knowledge.loaders.web import fetch_site
from knowledge.splitters.headings import split_document
from tests.knowledge.samples import FAQ_CSV, FAQ_JSON, HTML, MARKDOWN, write_docx, write_pdf


def test_markdown_keeps_front_matter_and_sections(tmp_path: Path) -> None:
    (tmp_path / "returns.md").write_text(MARKDOWN)
    [doc] = load_path(tmp_path / "returns.md")
    assert (doc.id, doc.title, doc.url) == ("returns-policy", "Returns policy", "https://help.example.com/returns")
    chunks = split_document(doc, tenant_id="t", version=1)
    assert [c.section for c in chunks] == [
        "How long do I have to return an item?",
        "What condition does the item need to be in?",
    ]
    assert "- Unused\n- In the original packaging" in chunks[1].text  # the list stays whole


def test_html_page_becomes_headed_markdown_without_chrome(tmp_path: Path) -> None:
    (tmp_path / "gift-cards.html").write_text(HTML)
    [doc] = load_path(tmp_path / "gift-cards.html")
    assert doc.title == "Gift cards"
    assert "## Checking your balance" in doc.body and "- PIN on the back" in doc.body
    assert "| Any | None |" in doc.body
    assert "Home | Shop" not in doc.body and "track()" not in doc.body and "Copyright" not in doc.body
    sections = {c.section for c in split_document(doc, tenant_id="t", version=1)}
    assert {"Checking your balance", "Fees"} <= sections


def test_pdf_text_and_title(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "care-guide.pdf", ["Descaling your kettle", "Use citric acid once a month."], title="Kettle care"
    )
    [doc] = load_path(path)
    assert doc.title == "Kettle care" and doc.id == "care-guide"
    assert "citric acid once a month" in doc.body


def test_docx_headings_lists_tables_and_internal_category(tmp_path: Path) -> None:
    [doc] = load_path(write_docx(tmp_path / "warranty.docx"))
    assert doc.title == "Warranty claims" and doc.visibility == Visibility.internal
    assert "## Eligibility" in doc.body and "- Two years from delivery\n- Proof of purchase required" in doc.body
    assert "| Heating element | Yes |" in doc.body


def test_plain_text_first_line_is_the_title(tmp_path: Path) -> None:
    (tmp_path / "hours.txt").write_text("Opening hours\n\nWe answer chats from 8 to 20 on weekdays.\n")
    [doc] = load_path(tmp_path / "hours.txt")
    assert doc.title == "Opening hours" and "8 to 20" in doc.body


def test_faq_csv_and_json_give_one_article_per_question(tmp_path: Path) -> None:
    (tmp_path / "shipping.csv").write_text(FAQ_CSV)
    (tmp_path / "payments.json").write_text(FAQ_JSON)
    csv_docs = load_path(tmp_path / "shipping.csv")
    assert [d.title for d in csv_docs] == ["Do you ship to Norway?", "How do agents override a shipping fee?"]
    assert [d.visibility for d in csv_docs] == [Visibility.public, Visibility.internal]
    assert "within 5 working days" in csv_docs[0].body
    [json_doc] = load_path(tmp_path / "payments.json")
    assert json_doc.id == "pay-klarna" and "Klarna is accepted" in json_doc.body


@pytest.mark.parametrize(
    ("name", "content", "error", "says"),
    [
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> garbage", InvalidInput, "corrupt"),
        ("fake.pdf", b"this is not a pdf at all", InvalidInput, "not a PDF"),
        ("empty.md", b"   \n", InvalidInput, "empty"),
        ("photo.png", b"\x89PNG....", InvalidInput, "unsupported file type"),
        ("big.txt", b"x" * 2000, PayloadTooLarge, "limit is 1000 bytes"),
        ("bad.docx", b"PK\x03\x04 not really a zip", InvalidInput, "DOCX"),
        ("faq.csv", b"q,a\nhello,world\n", InvalidInput, "'question' and 'answer'"),
        ("latin1.md", "# Caf\u00e9".encode("latin-1"), InvalidInput, "UTF-8"),
    ],
)
def test_bad_files_get_a_clear_error(
    tmp_path: Path, name: str, content: bytes, error: type[Exception], says: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(error, match=says):
        load_path(tmp_path / name, max_bytes=1000)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "gift-cards.html").write_text(HTML)
    (tmp_path / "returns.html").write_text(
        "<html><head><title>Returns</title></head><body><h1>Returns</h1><p>30 days.</p></body></html>"
    )
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (tmp_path / "sitemap.xml").write_text(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{base}/gift-cards.html</loc></url><url><loc>{base}/returns.html</loc></url>"
        f"<url><loc>{base}/missing.html</loc></url></urlset>"
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    server.server_close()


def test_web_page_and_sitemap_from_a_local_server(site: str) -> None:
    page = fetch_site(f"{site}/gift-cards.html")
    assert [d.title for d in page.documents] == ["Gift cards"] and page.documents[0].url == f"{site}/gift-cards.html"
    crawl = fetch_site(f"{site}/sitemap.xml")
    assert sorted(d.title for d in crawl.documents) == ["Gift cards", "Returns"]
    assert list(crawl.errors) == [f"{site}/missing.html"] and "HTTP 404" in crawl.errors[f"{site}/missing.html"]
