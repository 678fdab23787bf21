"""Nothing of one company in product code: names, currency and id formats come from the
tenant's configuration or its content. The demo shop keeps its own in ``demo/``; the
demo loader (``server/demo.py``) and the demo shop's page are the only exceptions."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("core", "knowledge", "prompts", "bot", "copilot", "server")
EXCLUDED = {Path("server/demo.py"), Path("server/static/index.html")}
SUFFIXES = {".py", ".j2", ".js", ".html", ".css", ".json", ".yaml", ".yml", ".txt"}


def _demo_markers() -> list[tuple[str, re.Pattern[str]]]:
    """What identifies the demo company, read from its own configuration and content."""
    config = yaml.safe_load((ROOT / "demo" / "tenant.yaml").read_text(encoding="utf-8"))
    markers = [
        ("company name", re.compile(re.escape(config["name"]), re.I)),
        ("tenant id", re.compile(rf"\b{re.escape(config['id'])}\b", re.I)),
        ("currency", re.compile(rf"\b{re.escape(config['currency'])}\b")),
    ]
    sign = {"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥", "CHF": "CHF"}.get(config["currency"])
    if sign:
        markers.append(("currency sign", re.compile(re.escape(sign) + r"\s?\d")))
    for action in config.get("actions", []):
        for param in action.get("parameters", []):
            # The literal start of an identifier pattern ('ABC-?\d{4,}' -> 'ABC-') is the id format.
            literal = re.match(r"([A-Za-z]{2,})-", param.get("pattern") or "")
            if literal:
                prefix = literal.group(0)
                markers.append((f"id format {prefix}", re.compile(rf"\b{re.escape(prefix)}", re.I)))
    return markers


def _product_files() -> list[Path]:
    out = []
    for room in ROOMS:
        for path in sorted((ROOT / room).rglob("*")):
            rel = path.relative_to(ROOT)
            if path.is_file() and path.suffix in SUFFIXES and rel not in EXCLUDED and "__pycache__" not in rel.parts:
                if path.name.endswith(".min.js"):
                    continue  # vendored libraries
                out.append(path)
    return out


def test_the_markers_come_from_the_demo_configuration() -> None:
    kinds = {kind for kind, _ in _demo_markers()}
    assert {"company name", "tenant id", "currency"} <= kinds
    assert any(kind.startswith("id format") for kind in kinds)


def test_no_product_room_names_the_demo_company_its_currency_or_id_formats() -> None:
    hits = []
    for path in _product_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for kind, pattern in _demo_markers():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                hits.append(f"{path.relative_to(ROOT)}:{line}: {kind} ({match.group(0)!r})")
    assert not hits, "company-specific text in product code:\n" + "\n".join(hits)
