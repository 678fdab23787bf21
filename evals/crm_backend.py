"""A stand-in for a company's own API over its CRM export (``crm.json``), for evals and tests.

Companies' actions call *their* systems; an eval of a company folder has only the export.
``CrmBackend`` answers any declared action generically, so the bot's HTTP and MCP executors
run against a real service:

- a **read** returns the fields of the session customer's record whose names share a word
  with the action's name (``get_balance`` → ``balance``), plus ``matches``: entries of an
  optional feed file ``<feeds>/<action>.json`` (a JSON list) with a field equal to a
  parameter value (``check_power_cut`` with ``postcode`` → the outages at that postcode);
- a **write** (a call with an idempotency key) is journalled and answered with a reference;
  the same key again returns the first answer and journals nothing (``replayed: true``).
  A customer id that is not in the export is refused (404).

The journal is a JSON-lines file when ``journal`` is given (shared by processes, e.g. an MCP
server started per call over stdio), else in memory.
"""

from __future__ import annotations

import fcntl
import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CrmBackend", "UnknownCustomer"]

_WORD = re.compile(r"[a-z0-9]+")


class UnknownCustomer(LookupError):
    pass


def _words(text: str) -> set[str]:
    words = set(_WORD.findall(text.lower().replace("_", " ")))
    return words | {w[:-1] for w in words if w.endswith("s") and len(w) > 3}


def _norm(value: object) -> str:
    return re.sub(r"\s+", "", str(value)).lower()


@dataclass
class CrmBackend:
    records: dict[str, dict[str, Any]]
    feeds: Path | None = None
    journal: Path | None = None
    _memory: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_file(cls, crm: Path, feeds: Path | None = None, journal: Path | None = None) -> CrmBackend:
        """Raises ValueError when ``crm`` is not a JSON list of records with ``id``."""
        data = json.loads(crm.read_text(encoding="utf-8"))
        if not isinstance(data, list) or not all(isinstance(r, dict) and "id" in r for r in data):
            raise ValueError(f"{crm}: expected a JSON list of customer records, each with an 'id'")
        return cls({str(r["id"]): r for r in data}, feeds, journal)

    def customer(self, customer_id: str) -> dict[str, Any]:
        if customer_id not in self.records:
            raise UnknownCustomer(customer_id)
        return self.records[customer_id]

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Writers in other processes (an MCP server per stdio call) wait for each other."""
        if self.journal is None:
            yield
            return
        with self.journal.with_suffix(".lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def entries(self) -> list[dict[str, Any]]:
        if self.journal is None:
            return list(self._memory)
        if not self.journal.exists():
            return []
        return [json.loads(line) for line in self.journal.read_text(encoding="utf-8").splitlines() if line.strip()]

    def read(self, action: str, customer_id: str | None, params: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if customer_id:
            record = self.customer(customer_id)
            wanted = _words(action) - {"get", "check", "show", "my", "the"}
            out = {k: v for k, v in record.items() if _words(k) & wanted}
        feed = self.feeds / f"{action}.json" if self.feeds else None
        if feed is not None and feed.is_file():
            items = json.loads(feed.read_text(encoding="utf-8"))
            values = {_norm(v) for v in params.values() if v not in (None, "")}
            out["matches"] = [
                item for item in items if isinstance(item, dict) and values & {_norm(v) for v in item.values()}
            ]
        elif not out:
            out["matches"] = []
        return out

    def write(self, action: str, customer_id: str | None, params: Mapping[str, Any], key: str) -> dict[str, Any]:
        if customer_id:
            self.customer(customer_id)
        with self._lock, self._file_lock():
            entries = self.entries()
            for e in entries:
                if e["key"] == key:
                    return {**e["response"], "replayed": True}
            reference = f"REF-{len(entries) + 1:05d}"
            response = {"status": "accepted", "reference": reference, "action": action, "params": dict(params)}
            entry = {
                "key": key,
                "action": action,
                "customer_id": customer_id,
                "params": dict(params),
                "response": response,
            }
            if self.journal is None:
                self._memory.append(entry)
            else:
                with self.journal.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry) + "\n")
            return response
