"""A scripted Target for unit tests of the harness (no models, no store)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from core.types import Passage
from evals.errors import CaseError
from evals.target import HandoffObs, Session, Suggested, SummaryObs, TurnObs
from knowledge.documents import Document

Reply = Callable[[str], TurnObs]


def answer(
    text: str, cited: tuple[str, ...] = (), kind: str = "answer", grounding: float = 0.8
) -> Callable[[str], TurnObs]:
    return lambda customer: TurnObs(
        customer=customer, reply=text, kind=kind, cited=list(cited), grounding=grounding, latency_s=0.5
    )


def handoff(reason: str, queue: str = "general") -> Callable[[str], TurnObs]:
    return lambda customer: TurnObs(
        customer=customer,
        reply="Connecting you with a person.",
        kind="handoff",
        handoff=HandoffObs(reason=reason, queue=queue),
        latency_s=0.1,
    )


class FakeTarget:
    """Replies by the first keyword found in the customer message; retrieval by keyword too."""

    name = "fake"

    def __init__(
        self,
        replies: dict[str, Callable[[str], TurnObs]],
        passages: dict[str, list[str]] | None = None,
        intents: dict[str, str] | None = None,
    ) -> None:
        self.replies = replies
        self.passages = passages or {}
        self.intents = intents or {}
        self.prepared: list[tuple[str, int, bool]] = []
        self.trained: int = 0

    def prepare_tenant(self, tenant: str, documents: list[Document], *, demo: bool) -> str:
        self.prepared.append((tenant, len(documents), demo))
        return "kb-fake"

    def add_note(self, tenant: str, customer_id: str, text: str) -> None:
        return None

    def open(self, tenant: str, customer_id: str | None, at: datetime | None) -> Session:
        return Session(tenant=tenant, customer_id=customer_id, conversation_id="c1", at=at)

    def send(self, session: Session, text: str) -> TurnObs:
        for key, reply in self.replies.items():
            if key in text.lower():
                return reply(text)
        raise RuntimeError(f"the fake bot crashed on {text!r}")

    def retrieve(self, tenant: str, history: list[str], customer_id: str | None, k: int) -> list[Passage]:
        for key, ids in self.passages.items():
            if key in history[-1].lower():
                return [
                    Passage(
                        chunk_id=f"{i}::v1::0", article_id=i, version=1, title=i.title(), url="", text=f"About {i}."
                    )
                    for i in ids[:k]
                ]
        return []

    def suggest(self, tenant: str, history: list[str], customer_id: str | None) -> Suggested:
        return Suggested(article_ids=[p.article_id for p in self.retrieve(tenant, history, customer_id, 3)])

    def summarize(self, tenant: str, messages: list[tuple[str, str]], customer_id: str | None) -> SummaryObs:
        handed = any(role == "agent" for role, _ in messages)
        text = " ".join(text for role, text in messages if role == "customer")
        return SummaryObs(text=text, disposition="follow_up" if handed else "resolved")

    def train_intents(self, texts: list[str], labels: list[str]) -> None:
        self.trained = len(texts)

    def classify(self, text: str) -> tuple[str | None, float]:
        if not self.intents:
            raise CaseError("no classifier")
        for key, intent in self.intents.items():
            if key in text.lower():
                return intent, 0.9
        return None, 0.1

    def describe(self) -> dict[str, object]:
        return {"target": "fake"}
