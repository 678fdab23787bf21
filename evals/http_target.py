"""Run suites against a running Switchboard server (``switchboard evals run --url ...``).

Customers get widget tokens from the development endpoint ``/api/demo/session`` (so the
server must not run in production mode); staff calls (KB search, article list) use an
API key sent as ``X-API-Key``. What HTTP cannot do (plant documents in a KB, set the clock,
count tokens) is said in the report: those cases error or the metric is absent.
"""

from __future__ import annotations

import time
from datetime import datetime

import httpx

from core.types import Passage
from evals.errors import CaseError
from evals.pipeline import kb_version
from evals.target import HandoffObs, Session, Suggested, SummaryObs, TurnObs
from knowledge.documents import Document


class HttpTarget:
    name = "http"

    def __init__(
        self,
        url: str,
        *,
        api_key: str = "dev-editor-key",
        timeout_s: float = 120.0,
        client: httpx.Client | None = None,
    ) -> None:
        """``client`` is injectable (tests pass FastAPI's TestClient, which is an httpx.Client)."""
        if not url.startswith(("http://", "https://")):
            raise CaseError(f"--url must be an http(s) URL, got {url!r}")
        self.url = url.rstrip("/")
        self.api_key = api_key
        self._client = client or httpx.Client(base_url=self.url, timeout=timeout_s)

    def _get(self, path: str, **params: str | int | None) -> httpx.Response:
        r = self._client.get(path, params={k: v for k, v in params.items() if v is not None}, headers=self._staff)
        r.raise_for_status()
        return r

    @property
    def _staff(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    def prepare_tenant(self, tenant: str, documents: list[Document], *, demo: bool) -> str:
        if documents:
            raise CaseError("This suite builds its own KB; run it in-process (without --url).")
        try:
            rows = self._get("/api/kb/articles").json()
        except httpx.HTTPError as exc:
            raise CaseError(f"cannot list articles at {self.url}: {exc}") from exc
        items = rows.get("data", rows) if isinstance(rows, dict) else rows
        return kb_version((str(a["id"]), int(a.get("version", 0))) for a in items)

    def add_note(self, tenant: str, customer_id: str, text: str) -> None:
        raise CaseError("CRM notes cannot be planted over HTTP; run the injection suite in-process.")

    def open(self, tenant: str, customer_id: str | None, at: datetime | None) -> Session:
        r = self._client.get("/api/demo/session", params={"customer_id": customer_id or "", "tenant": tenant})
        r.raise_for_status()
        token = r.json()["token"]
        c = self._client.post("/api/conversations", json={}, headers={"Authorization": f"Bearer {token}"})
        c.raise_for_status()
        return Session(tenant=tenant, customer_id=customer_id, conversation_id=c.json()["id"], token=token, at=at)

    def send(self, session: Session, text: str) -> TurnObs:
        start = time.perf_counter()
        r = self._client.post(
            f"/api/conversations/{session.conversation_id}/messages",
            json={"text": text},
            headers={"Authorization": f"Bearer {session.token}"},
        )
        latency = time.perf_counter() - start
        r.raise_for_status()
        body = r.json()
        replies = body.get("replies") or []
        last = replies[-1] if replies else {}
        brief = body.get("handoff")
        return TurnObs(
            customer=text,
            reply=" ".join(m.get("text", "") for m in replies).strip(),
            kind="handoff" if brief else last.get("kind", ""),
            cited=[c["article_id"] for c in last.get("citations", [])],
            grounding=last.get("grounding"),
            handoff=HandoffObs(
                reason=brief["reason"],
                queue=brief.get("queue", ""),
                priority=brief.get("priority", ""),
                summary=brief.get("summary", ""),
            )
            if brief
            else None,
            latency_s=latency,
        )

    def retrieve(self, tenant: str, history: list[str], customer_id: str | None, k: int) -> list[Passage]:
        # The server's KB search takes the last message only (no conversation rewrite).
        rows = self._get("/api/kb/search", q=history[-1][:500], visibility="public", k=k).json()
        return [Passage.model_validate(p) for p in rows.get("data", [])]

    def suggest(self, tenant: str, history: list[str], customer_id: str | None) -> Suggested:
        raise CaseError("copilot suggestions are measured in-process only")

    def summarize(self, tenant: str, messages: list[tuple[str, str]], customer_id: str | None) -> SummaryObs:
        raise CaseError("summaries are measured in-process only")

    def classify(self, text: str) -> tuple[str | None, float]:
        raise CaseError("intent suites run in-process only")

    def train_intents(self, texts: list[str], labels: list[str]) -> None:
        raise CaseError("intent suites run in-process only")

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"target": "http", "url": self.url}
        try:
            out["health"] = self._client.get("/healthz").json()
        except httpx.HTTPError as exc:
            out["health"] = f"unreachable: {exc}"
        return out
