"""Web pages and sitemaps over HTTP (httpx). A sitemap (``<urlset>`` or ``<sitemapindex>``)
is followed to its pages; every page failure is reported on its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

import httpx
from bs4 import BeautifulSoup

from core.errors import InvalidInput, PayloadTooLarge
from knowledge.documents import Document
from knowledge.loaders.files import DEFAULT_MAX_BYTES, load_bytes
from knowledge.loaders.html import parse_html
from knowledge.loaders.markdown import slugify


@dataclass
class SiteLoad:
    documents: list[Document] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # url -> message


def _id_for(url: str) -> str:
    parsed = urlparse(url)
    return slugify(f"{parsed.netloc}{parsed.path}".rstrip("/"))


def _get(client: httpx.Client, url: str, max_bytes: int) -> httpx.Response:
    try:
        response = client.get(url, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise InvalidInput(f"{url}: could not fetch ({type(exc).__name__}: {exc})") from exc
    if response.status_code >= 400:
        raise InvalidInput(f"{url}: the server answered HTTP {response.status_code}")
    if len(response.content) > max_bytes:
        raise PayloadTooLarge(f"{url}: the page is {len(response.content)} bytes; the limit is {max_bytes} bytes")
    return response


def _is_sitemap(url: str, response: httpx.Response) -> bool:
    ctype = response.headers.get("content-type", "")
    head = response.content[:500].lower()
    return "xml" in ctype or url.endswith(".xml") or b"<urlset" in head or b"<sitemapindex" in head


def fetch_site(
    url: str,
    *,
    client: httpx.Client | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pages: int = 500,
) -> SiteLoad:
    """Fetch a page, or every page of a sitemap (nested sitemaps followed)."""
    if urlparse(url).scheme not in ("http", "https"):
        raise InvalidInput(f"{url}: only http and https URLs can be loaded")
    owned = client is None
    http = client or httpx.Client(timeout=20.0, headers={"User-Agent": "switchboard-kb-loader"})
    out = SiteLoad()
    try:
        queue = [url]
        seen: set[str] = set()
        while queue and len(seen) < max_pages:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            try:
                response = _get(http, current, max_bytes)
                if _is_sitemap(current, response):
                    soup = BeautifulSoup(response.content, "xml")
                    queue.extend(loc.get_text(strip=True) for loc in soup.find_all("loc"))
                    continue
                ctype = response.headers.get("content-type", "").split(";")[0].strip()
                if ctype in ("text/html", "application/xhtml+xml", ""):
                    out.documents.append(
                        parse_html(response.content, doc_id=_id_for(current), source=current, url=current)
                    )
                else:
                    name = urlparse(current).path.rsplit("/", 1)[-1] or "page"
                    docs = load_bytes(response.content, name=name, source=current, max_bytes=max_bytes)
                    out.documents.extend(d if d.url else _with_url(d, current) for d in docs)
            except InvalidInput as exc:
                out.errors[current] = str(exc)
    finally:
        if owned:
            http.close()
    return out


def _with_url(doc: Document, url: str) -> Document:
    from dataclasses import replace

    return replace(doc, url=url)
