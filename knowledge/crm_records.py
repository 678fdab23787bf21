"""Import a company's own CRM export: one record per customer, in whatever shape it has.

Accepted files: a JSON array of (nested) records, JSON Lines, or CSV (dotted headers such as
``tariff.name`` become nested fields). The common fields (``id``, ``name``, ``email``,
``phone``, ``address``, ``language``) map to the customer row; nested ``tickets``, ``orders``
and ``notes`` lists become ticket, order and note rows; **every other field is kept** as the
customer's custom attributes (``Customer.attributes``), typed as imported, free-text leaves
redacted like all free text. Records are upserted by id, each in its own savepoint: a bad
record is reported and skipped, the rest of the batch is imported, nothing is half-written.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.schema import CrmNote, Customer, Order, Ticket
from core.db.store import Store
from core.errors import InvalidInput, PayloadTooLarge

__all__ = ["MAX_CRM_FILE_BYTES", "RecordImportReport", "RecordImporter", "read_records"]

MAX_CRM_FILE_BYTES = 25 * 1024 * 1024
_ID_KEYS = ("id", "customer_id", "external_id", "account_id", "account_number")
_NAME_KEYS = ("name", "full_name", "customer_name")
_COMMON = {"name", "email", "phone", "address", "language", "tier", "tickets", "orders", "notes"}
# Identifier-like strings (serials, account numbers, codes) are data, not free text: no spaces.
_FREE_TEXT = re.compile(r"\s")


@dataclass
class RecordResult:
    index: int  # 1-based position in the file
    id: str | None
    status: str  # created, updated, error
    error: str = ""


@dataclass
class RecordImportReport:
    source: str
    results: list[RecordResult] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(r.status == "created" for r in self.results)

    @property
    def updated(self) -> int:
        return sum(r.status == "updated" for r in self.results)

    @property
    def errors(self) -> list[RecordResult]:
        return [r for r in self.results if r.status == "error"]

    def summary(self) -> str:
        return f"{self.source}: {self.created} created, {self.updated} updated, {len(self.errors)} errors"


def _parse_scalar(text: str) -> Any:
    t = text.strip()
    if t == "":
        return None
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    if re.fullmatch(r"-?\d{1,15}", t) and not (len(t) > 1 and t.lstrip("-").startswith("0")):
        return int(t)
    if re.fullmatch(r"-?\d+\.\d+", t):
        return float(t)
    return text


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if key is None:
            continue
        parts = [p for p in str(key).split(".") if p]
        node = out
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                nxt = node[part] = {"value": nxt}
            node = nxt
        if parts:
            node[parts[-1]] = _parse_scalar(value) if isinstance(value, str) else value
    return out


def read_records(path: Path, *, max_bytes: int = MAX_CRM_FILE_BYTES) -> list[dict[str, Any]]:
    """Parse one CRM file. Raises ``PayloadTooLarge`` over ``max_bytes`` and ``InvalidInput``
    naming the file (and line) when it is not a JSON array, JSON Lines or CSV."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise PayloadTooLarge(f"{path.name}: {size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_records(text, path.name)


def parse_records(text: str, name: str) -> list[dict[str, Any]]:
    suffix = Path(name).suffix.lower()
    stripped = text.lstrip()
    if suffix == ".csv" or (suffix not in (".json", ".jsonl", ".ndjson") and stripped[:1] not in ("[", "{")):
        try:
            rows = list(csv.DictReader(io.StringIO(text)))
        except csv.Error as exc:
            raise InvalidInput(f"{name}: not valid CSV: {exc}") from None
        if not rows:
            raise InvalidInput(f"{name}: no records (CSV needs a header row and at least one row)")
        return [_nest(r) for r in rows]
    if suffix in (".jsonl", ".ndjson") or (stripped.startswith("{") and "\n{" in stripped):
        records = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{name}: line {n} is not JSON: {exc.msg}") from None
            records.append(value)
        return records
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if isinstance(data, dict):
        for key in ("customers", "records", "data", "items"):
            if isinstance(data.get(key), list):
                return list(data[key])
        return [data]
    if not isinstance(data, list):
        raise InvalidInput(f"{name}: expected a JSON array of customer records")
    return data


class RecordImporter:
    """Upserts customer records with their nested tickets, orders and notes."""

    def __init__(self, store: Store, redact: Callable[[str], str]) -> None:
        self.store = store
        self._redact = redact
        self._seen: dict[str, str] = {}  # exports repeat values (tariff names, locations): redact once

    def redact(self, text: str) -> str:
        if text not in self._seen:
            if len(self._seen) > 50_000:
                self._seen.clear()
            self._seen[text] = self._redact(text)
        return self._seen[text]

    def import_file(self, tenant_id: str, path: Path, *, max_bytes: int = MAX_CRM_FILE_BYTES) -> RecordImportReport:
        return self.import_records(tenant_id, read_records(path, max_bytes=max_bytes), path.name)

    def import_records(self, tenant_id: str, records: Iterable[object], source: str) -> RecordImportReport:
        report = RecordImportReport(source)
        seen: dict[str, int] = {}
        with self.store.session(tenant_id) as s:
            for index, raw in enumerate(records, start=1):
                if not isinstance(raw, dict):
                    report.results.append(RecordResult(index, None, "error", "not an object (a record is a mapping)"))
                    continue
                rid = next((str(raw[k]).strip() for k in _ID_KEYS if raw.get(k) not in (None, "")), None)
                if rid is None:
                    report.results.append(
                        RecordResult(index, None, "error", f"no id (one of: {', '.join(_ID_KEYS)})")
                    )
                    continue
                if len(rid) > 64:
                    report.results.append(RecordResult(index, rid[:64], "error", "id longer than 64 characters"))
                    continue
                if rid in seen:
                    report.results.append(
                        RecordResult(index, rid, "error", f"duplicate id {rid!r} (first at record {seen[rid]})")
                    )
                    continue
                seen[rid] = index
                try:
                    with s.begin_nested():
                        created = self._upsert(s, rid, raw)
                except (InvalidInput, ValueError, TypeError) as exc:
                    report.results.append(RecordResult(index, rid, "error", str(exc)))
                    continue
                report.results.append(RecordResult(index, rid, "created" if created else "updated"))
        return report

    # -- one record ------------------------------------------------------------------------

    def _clean(self, value: Any, depth: int = 0) -> Any:
        """Typed copy with free-text leaves redacted (identifiers without spaces are kept)."""
        if depth > 12:
            raise InvalidInput("nested more than 12 levels deep")
        if isinstance(value, dict):
            return {str(k): self._clean(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [self._clean(v, depth + 1) for v in value]
        if isinstance(value, str) and _FREE_TEXT.search(value):
            return self.redact(value)
        return value

    def _upsert(self, s: Session, rid: str, raw: dict[str, Any]) -> bool:
        name = next((str(raw[k]) for k in _NAME_KEYS if raw.get(k)), "")
        address = raw.get("address")
        if isinstance(address, str):
            address = {"text": address}
        elif not isinstance(address, dict):
            address = {}
        language = str(raw.get("language") or "en")[:8]
        attributes = self._clean(
            {k: v for k, v in raw.items() if k not in _COMMON and k not in _ID_KEYS and k not in _NAME_KEYS}
        )
        values = {
            "name": name[:200],
            "email": str(raw.get("email") or "")[:320],
            "phone": str(raw.get("phone") or "")[:64],
            "language": language,
            "tier": str(raw.get("tier") or "standard")[:32],
            "address": address,
            "attributes": attributes,
        }
        row = s.scalars(select(Customer).where(Customer.external_id == rid)).first()
        created = row is None
        if row is None:
            s.add(Customer(external_id=rid, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
        for n, t in enumerate(_as_list(raw.get("tickets"), "tickets"), start=1):
            self._ticket(s, rid, t, n)
        for n, o in enumerate(_as_list(raw.get("orders"), "orders"), start=1):
            self._order(s, rid, o, n)
        for n, note in enumerate(_as_list(raw.get("notes"), "notes"), start=1):
            text = note.get("text", "") if isinstance(note, dict) else note
            nid = str(note.get("id")) if isinstance(note, dict) and note.get("id") else f"{rid}-note-{n}"
            self._put(s, CrmNote, nid, {"customer_id": rid, "text": self.redact(str(text)), "author": "crm import"})
        s.flush()
        return created

    def _ticket(self, s: Session, rid: str, t: object, n: int) -> None:
        if not isinstance(t, dict):
            raise InvalidInput(f"tickets[{n}] is not an object")
        tid = str(t.get("id") or f"{rid}-T{n}")
        notes = t.get("notes") or t.get("summary") or ""
        self._put(
            s,
            Ticket,
            tid,
            {
                "customer_id": rid,
                "subject": self.redact(str(t.get("subject", "")))[:300],
                "status": str(t.get("status", "open"))[:32],
                "channel": str(t.get("channel", "crm"))[:32],
                "created_at": str(t.get("opened") or t.get("created_at") or "")[:40],
                # Agent text: kept for agents and the copilot; the bot never quotes it.
                "summary": self.redact(notes if isinstance(notes, str) else json.dumps(notes)),
            },
        )

    def _order(self, s: Session, rid: str, o: object, n: int) -> None:
        if not isinstance(o, dict):
            raise InvalidInput(f"orders[{n}] is not an object")
        try:
            total = float(o.get("total", 0) or 0)
        except (TypeError, ValueError):
            raise InvalidInput(f"orders[{n}].total is not a number: {o.get('total')!r}") from None
        self._put(
            s,
            Order,
            str(o.get("id") or f"{rid}-O{n}"),
            {
                "customer_id": rid,
                "status": str(o.get("status", "processing"))[:32],
                "placed_at": str(o.get("placed_at", ""))[:40],
                "shipped_at": o.get("shipped_at"),
                "delivered_at": o.get("delivered_at"),
                "carrier": o.get("carrier"),
                "tracking": o.get("tracking"),
                "items": o.get("items") or [],
                "total": total,
                "currency": str(o.get("currency", ""))[:8],
                "delivery_address": o.get("delivery_address") or {},
            },
        )

    @staticmethod
    def _put(s: Session, model: type[Any], external_id: str, values: dict[str, Any]) -> None:
        row = s.scalars(select(model).where(model.external_id == external_id)).first()
        if row is None:
            s.add(model(external_id=external_id[:64], **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)


def _as_list(value: object, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{name} must be a list")
    return value
