"""Learning loop: a conversation the KB could not answer but a human resolved becomes a
draft KB article (personal data removed) in the editors' review queue; an approved draft is
published as a new article version."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select

from copilot.guidelines import slug
from copilot.text import split_sentences
from core.db.schema import KbDraft
from core.db.store import Store
from core.errors import Conflict, InvalidInput, NotFound
from core.types import Author, Turn, Visibility
from knowledge.documents import Document
from knowledge.kb import KnowledgeBase

# A reference number (order, ticket, account): letters and digits joined, e.g. "AB-10035", "T-23152".
_REFERENCE = re.compile(r"\b[A-Za-z]{1,6}(?:-[A-Za-z0-9]{1,6})*-?\d{3,}\b")
_LONG_DIGITS = re.compile(r"\b\d{7,}\b")
_GREETING = re.compile(
    r"^(hi|hello|hey|bonjour|hallo|good (?:morning|afternoon|evening)|thanks?|thank you|you're welcome|"
    r"have a (?:nice|great)|bye)\b",
    re.IGNORECASE,
)
_SELF_INTRO = re.compile(r"\b[A-Z][a-z]+ (?:here|from \w+)\b")


class DraftPublic(BaseModel):
    id: str
    conversation_id: str | None
    title: str
    body: str
    status: str
    created_at: datetime


class DraftsPublic(BaseModel):
    data: list[DraftPublic]
    count: int


class DraftApproval(BaseModel):
    title: str | None = Field(default=None, max_length=300)
    body: str | None = Field(default=None, max_length=20000)
    article_id: str | None = Field(default=None, max_length=200, description="publish as a new version of this article")
    visibility: Visibility = Visibility.internal


class Published(BaseModel):
    draft: DraftPublic
    article_id: str
    version: int


def _public(d: KbDraft) -> DraftPublic:
    return DraftPublic(
        id=d.id, conversation_id=d.conversation_id, title=d.title, body=d.body, status=d.status, created_at=d.created_at
    )


class LearningLoop:
    def __init__(self, store: Store, kb: KnowledgeBase, redact: Callable[[str], str]) -> None:
        self.store = store
        self.kb = kb
        self._redact = redact

    def scrub(self, text: str, names: list[str]) -> str:
        text = self._redact(text)
        for name in names:
            for part in {name, *name.split()}:
                if len(part) >= 3:
                    text = re.sub(rf"\b{re.escape(part)}\b", "the customer", text)
        text = _REFERENCE.sub("[reference]", text)
        text = _LONG_DIGITS.sub("[number]", text)
        return re.sub(r"\s{2,}", " ", _SELF_INTRO.sub("", text)).strip(" ,")

    def compose(self, turns: list[Turn], names: list[str]) -> tuple[str, str] | None:
        """(title, body) of a draft article, or None when the humans did not answer anything."""
        questions = [t.text for t in turns if t.author == Author.customer and len(t.text.split()) >= 4]
        answers = [
            s
            for t in turns
            if t.author == Author.agent
            for s in split_sentences(t.text)
            if not _GREETING.match(s) and len(s.split()) >= 4
        ]
        if not questions or not answers:
            return None
        question = self.scrub(
            split_sentences(questions[0])[0] if split_sentences(questions[0]) else questions[0], names
        )
        title = question.rstrip("?.! ")[:120] or "Question from a resolved conversation"
        title = title[0].upper() + title[1:]
        steps = "\n".join(f"- {self.scrub(s, names)}" for s in answers[:8])
        asked = "\n".join(f"> {self.scrub(q, names)}" for q in questions[:3])
        body = (
            f"## What customers ask\n\n{asked}\n\n## Answer\n\n{steps}\n\n"
            "_Drafted from a conversation resolved by an agent; personal data removed. Review before publishing._"
        )
        return title, body

    def draft(
        self, tenant_id: str, conversation_id: str, customer_id: str | None, turns: list[Turn], names: list[str]
    ) -> DraftPublic | None:
        composed = self.compose(turns, names)
        if composed is None:
            return None
        with self.store.session(tenant_id) as s:
            existing = s.scalars(select(KbDraft).where(KbDraft.conversation_id == conversation_id)).first()
            if existing is not None:
                return _public(existing)
            row = KbDraft(conversation_id=conversation_id, customer_id=customer_id, title=composed[0], body=composed[1])
            s.add(row)
            s.flush()
            return _public(row)

    def list(self, tenant_id: str, status: str | None = "pending") -> DraftsPublic:
        with self.store.session(tenant_id) as s:
            q = select(KbDraft).order_by(KbDraft.created_at.desc())
            if status:
                q = q.where(KbDraft.status == status)
            data = [_public(d) for d in s.scalars(q)]
        return DraftsPublic(data=data, count=len(data))

    def _pending(self, s: object, draft_id: str) -> KbDraft:
        row = s.scalars(select(KbDraft).where(KbDraft.id == draft_id)).first()  # type: ignore[attr-defined]
        if row is None:
            raise NotFound(f"No KB draft {draft_id!r}")
        if row.status != "pending":
            raise Conflict(f"The draft is already {row.status}.")
        return row  # type: ignore[no-any-return]

    def approve(self, tenant_id: str, draft_id: str, editor: str, approval: DraftApproval) -> Published:
        with self.store.session(tenant_id) as s:
            row = self._pending(s, draft_id)
            title, body = approval.title or row.title, approval.body or row.body
        article_id = approval.article_id or f"learned-{slug(title, '-')[:60] or draft_id[:8]}"
        doc = Document(
            id=article_id, title=title, body=body, visibility=approval.visibility, source=f"kb-draft:{draft_id}"
        )
        report = self.kb.load_documents(tenant_id, [doc], actor=editor)
        if report.errors:
            raise InvalidInput("; ".join(report.errors.values()))
        version = self.kb.get_article(tenant_id, article_id).version
        with self.store.session(tenant_id) as s:
            row = self._pending(s, draft_id)
            row.status = "approved"
            row.title, row.body = title, body
            out = _public(row)
        return Published(draft=out, article_id=article_id, version=version)

    def reject(self, tenant_id: str, draft_id: str) -> DraftPublic:
        with self.store.session(tenant_id) as s:
            row = self._pending(s, draft_id)
            row.status = "rejected"
            return _public(row)
