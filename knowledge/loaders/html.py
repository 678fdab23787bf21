"""HTML pages (BeautifulSoup + lxml) to Markdown-ish text: headings become ``#`` lines,
lists ``-`` items, tables Markdown rows, so the heading splitter keeps the structure."""

from __future__ import annotations

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

from core.errors import InvalidInput
from knowledge.documents import Document
from knowledge.loaders.markdown import parse_visibility

_SKIP = {"script", "style", "noscript", "nav", "footer", "header", "form", "svg", "button", "template", "aside"}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


def _text(node: Tag) -> str:
    return " ".join(node.get_text(" ", strip=True).split())


def _table(table: Tag) -> str:
    rows: list[list[str]] = []
    for tr in table.find_all("tr"):
        cells = [_text(c).replace("|", "/") for c in tr.find_all(["th", "td"])]
        if cells:
            rows.append(cells)
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in rows]
    lines.insert(1, "|" + " --- |" * width)
    return "\n".join(lines)


def _list(node: Tag, depth: int = 0) -> str:
    lines: list[str] = []
    ordered = node.name == "ol"
    for n, li in enumerate(node.find_all("li", recursive=False), start=1):
        nested = [c.extract() for c in li.find_all(["ul", "ol"], recursive=False)]
        marker = f"{n}." if ordered else "-"
        lines.append(f"{'  ' * depth}{marker} {_text(li)}")
        lines.extend(_list(sub, depth + 1) for sub in nested)
    return "\n".join(line for line in lines if line.strip())


def _blocks(node: Tag, out: list[str]) -> None:
    for child in node.children:
        if isinstance(child, NavigableString):
            text = " ".join(str(child).split())
            if text and child.parent is not None and child.parent.name not in ("html", "[document]"):
                out.append(text)
            continue
        if not isinstance(child, Tag) or child.name in _SKIP:
            continue
        if child.name in _HEADINGS:
            text = _text(child)
            if text:
                out.append(f"{'#' * _HEADINGS[child.name]} {text}")
        elif child.name in ("ul", "ol"):
            out.append(_list(child))
        elif child.name == "table":
            out.append(_table(child))
        elif child.name == "pre":
            out.append(f"```\n{child.get_text()}\n```")
        elif child.name in ("p", "blockquote", "dt", "dd", "figcaption", "address"):
            out.append(_text(child))
        elif child.name == "br":
            continue
        else:
            _blocks(child, out)


def html_to_markdown(html: str | bytes) -> tuple[str, str, dict[str, str]]:
    """(title, markdown body, <meta name=...> values)."""
    soup = BeautifulSoup(html, "lxml")
    metas = {
        str(m.get("name", "")).lower(): str(m.get("content", ""))
        for m in soup.find_all("meta")
        if m.get("name") and m.get("content")
    }
    title = _text(soup.title) if soup.title else ""
    root = soup.find("main") or soup.find("article") or soup.body or soup
    assert isinstance(root, Tag)
    out: list[str] = []
    _blocks(root, out)
    body = "\n\n".join(b for b in out if b.strip())
    return title, body, metas


def parse_html(data: bytes | str, *, doc_id: str, source: str, url: str = "") -> Document:
    title, body, metas = html_to_markdown(data)
    if not body.strip():
        raise InvalidInput(f"{source}: the page has no text to index")
    if not title:
        first = body.splitlines()[0]
        title = first.lstrip("# ").strip() if first.startswith("#") else doc_id
    return Document(
        id=metas.get("switchboard:id") or doc_id,
        title=title,
        body=body,
        url=url or metas.get("switchboard:url", ""),
        visibility=parse_visibility(metas.get("visibility"), source),
        language=metas.get("language", "en") or "en",
        updated=metas.get("updated", ""),
        source=source,
    )
