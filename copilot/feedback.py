"""Feedback on suggestions: shown, inserted, edited (with edit distance), dismissed; and the
acceptance rate per suggestion type for supervisors."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field
from sqlalchemy import select

from copilot.text import edit_distance
from core.db.schema import Feedback
from core.db.store import Store
from core.errors import InvalidInput


class SuggestionKind(str, Enum):
    article = "article"
    reply = "reply"
    action = "action"
    facts = "facts"
    rewrite = "rewrite"
    summary = "summary"


class FeedbackEvent(str, Enum):
    shown = "shown"
    inserted = "inserted"
    edited = "edited"
    dismissed = "dismissed"


class FeedbackIn(BaseModel):
    suggestion_id: str = Field(min_length=1, max_length=64)
    kind: SuggestionKind
    event: FeedbackEvent
    suggested_text: str | None = Field(default=None, max_length=8000)  # for edited: the suggestion as shown
    final_text: str | None = Field(default=None, max_length=8000)  # for edited: what the agent sent


class KindRate(BaseModel):
    kind: str
    shown: int
    inserted: int
    edited: int
    dismissed: int
    acceptance_rate: float  # (inserted or edited) / shown, over distinct suggestions
    mean_edit_distance: float | None = None


class AcceptanceReport(BaseModel):
    data: list[KindRate]
    count: int


class FeedbackLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, tenant_id: str, conversation_id: str, agent: str, items: list[FeedbackIn]) -> int:
        rows: list[Feedback] = []
        for item in items:
            distance: int | None = None
            if item.event == FeedbackEvent.edited:
                if item.suggested_text is None or item.final_text is None:
                    raise InvalidInput("An 'edited' event needs suggested_text and final_text to measure the edit.")
                distance = edit_distance(item.suggested_text[:2000], item.final_text[:2000])
            rows.append(
                Feedback(
                    conversation_id=conversation_id,
                    suggestion_id=item.suggestion_id,
                    kind=item.kind.value,
                    event=item.event.value,
                    edit_distance=distance,
                    agent=agent,
                )
            )
        with self.store.session(tenant_id) as s:
            s.add_all(rows)
        return len(rows)

    def acceptance(self, tenant_id: str) -> AcceptanceReport:
        with self.store.session(tenant_id) as s:
            rows = list(
                s.execute(
                    select(
                        Feedback.conversation_id,
                        Feedback.suggestion_id,
                        Feedback.kind,
                        Feedback.event,
                        Feedback.edit_distance,
                    )
                )
            )
        by_kind: dict[str, dict[str, set[tuple[str, str]]]] = {}
        distances: dict[str, list[int]] = {}
        for conv, sid, kind, event, dist in rows:
            by_kind.setdefault(kind, {}).setdefault(event, set()).add((conv, sid))
            if dist is not None:
                distances.setdefault(kind, []).append(int(dist))
        data: list[KindRate] = []
        for kind in sorted(by_kind):
            ev = by_kind[kind]
            shown = ev.get("shown", set())
            accepted = ev.get("inserted", set()) | ev.get("edited", set())
            base = shown | accepted  # an insert implies it was shown
            d = distances.get(kind)
            data.append(
                KindRate(
                    kind=kind,
                    shown=len(base),
                    inserted=len(ev.get("inserted", set())),
                    edited=len(ev.get("edited", set())),
                    dismissed=len(ev.get("dismissed", set())),
                    acceptance_rate=round(len(accepted) / len(base), 3) if base else 0.0,
                    mean_edit_distance=round(sum(d) / len(d), 1) if d else None,
                )
            )
        return AcceptanceReport(data=data, count=len(data))
