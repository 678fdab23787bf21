"""The system under test, seen from the harness: one ``Target`` protocol, two implementations.

- in-process (default): ``server.cli.evals.ServiceTarget`` drives ``ConversationService`` over
  ``server.container.Services`` — exactly what the product runs. It lives in ``server`` because
  ``evals`` may not import ``server`` (house plan); the CLI passes it in.
- ``evals.http_target.HttpTarget``: a running server URL.

A target answers what it can; a capability it lacks raises ``CaseError`` (reported as an error).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field

from core.types import Passage
from knowledge.documents import Document


class HandoffObs(BaseModel):
    reason: str
    queue: str = ""
    priority: str = ""
    summary: str = ""


class TurnObs(BaseModel):
    """What the harness saw for one customer message."""

    customer: str
    reply: str = ""
    kind: str = ""  # answer | abstain | clarify | smalltalk | action | refusal | handoff | silent ...
    mode: str = ""
    cited: list[str] = Field(default_factory=list)  # article ids
    grounding: float | None = None
    intent: str | None = None
    action: str | None = None
    handoff: HandoffObs | None = None
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Session(BaseModel):
    """One conversation opened by the harness."""

    tenant: str
    customer_id: str | None = None
    conversation_id: str = ""
    token: str = ""
    at: datetime | None = None


class SummaryObs(BaseModel):
    text: str
    disposition: str | None = None  # resolved | follow_up | escalated | unresolved


class Suggested(BaseModel):
    article_ids: list[str]
    latency_s: float = 0.0


class Target(Protocol):
    name: str

    def prepare_tenant(self, tenant: str, documents: list[Document], *, demo: bool) -> str:
        """Make ``tenant`` exist with the demo (``demo=True``) and/or these documents; return a KB version."""
        ...

    def add_note(self, tenant: str, customer_id: str, text: str) -> None: ...

    def open(self, tenant: str, customer_id: str | None, at: datetime | None) -> Session: ...

    def send(self, session: Session, text: str) -> TurnObs: ...

    def retrieve(self, tenant: str, history: list[str], customer_id: str | None, k: int) -> list[Passage]: ...

    def suggest(self, tenant: str, history: list[str], customer_id: str | None) -> Suggested: ...

    def summarize(self, tenant: str, messages: list[tuple[str, str]], customer_id: str | None) -> SummaryObs: ...

    def classify(self, text: str) -> tuple[str | None, float]: ...

    def train_intents(self, texts: list[str], labels: list[str]) -> None: ...

    def describe(self) -> dict[str, object]: ...
