"""What the agent console asks for on demand: rolling summary, tone rewrite, free-text KB
search, marking a guideline action done, and the after-contact preview."""

from __future__ import annotations

from pydantic import BaseModel, Field

from copilot.suggest import ArticleSuggestion, Copilot
from copilot.summaries import AfterContactSummary, Summarizer, Summary
from copilot.tone import Rewrite, Tone, ToneRewriter
from core.db.conversations import get_conversation, list_messages, turns_of
from core.db.store import Store
from core.errors import InvalidInput
from core.types import Turn


class RewriteRequest(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    tone: Tone
    language: str | None = Field(default=None, max_length=8, description="target language; default: the customer's")


class SearchResults(BaseModel):
    query: str
    data: list[ArticleSuggestion]
    count: int


class DoneActions(BaseModel):
    done_actions: list[str]


class FeedbackRecorded(BaseModel):
    recorded: int


class CopilotDesk:
    def __init__(self, store: Store, copilot: Copilot, summarizer: Summarizer, tone: ToneRewriter) -> None:
        self.store = store
        self.copilot = copilot
        self.summarizer = summarizer
        self.tone = tone

    def _turns(self, tenant_id: str, conversation_id: str) -> tuple[list[Turn], str]:
        with self.store.session(tenant_id) as s:
            conv = get_conversation(s, conversation_id)
            return turns_of(list_messages(s, conversation_id)), conv.language or "en"

    def summary(self, tenant_id: str, conversation_id: str) -> Summary:
        turns, _ = self._turns(tenant_id, conversation_id)
        return self.summarizer.summarize(turns, tenant_id)

    def after_contact(self, tenant_id: str, conversation_id: str) -> AfterContactSummary:
        turns, _ = self._turns(tenant_id, conversation_id)
        return self.summarizer.after_contact(turns, tenant_id=tenant_id)

    def rewrite(self, tenant_id: str, conversation_id: str, req: RewriteRequest) -> Rewrite:
        _, language = self._turns(tenant_id, conversation_id)
        return self.tone.rewrite(req.text, req.tone, req.language or language)

    def search(self, tenant_id: str, query: str) -> SearchResults:
        q = query.strip()
        if not q:
            raise InvalidInput("Type something to search for.")
        _, passages = self.copilot.passages(tenant_id, [], query=q[:500])
        data = [ArticleSuggestion.from_passage(p, f"search:{p.article_id}", q) for p in passages]
        return SearchResults(query=q, data=data, count=len(data))

    def mark_done(self, tenant_id: str, conversation_id: str, action: str) -> DoneActions:
        with self.store.session(tenant_id) as s:
            conv = get_conversation(s, conversation_id)
            memory = dict(conv.memory.get("copilot", {}))
            done = [str(a) for a in memory.get("done_actions", [])]
            if action not in done:
                done.append(action)
            conv.memory = {**conv.memory, "copilot": {**memory, "done_actions": done}}
        return DoneActions(done_actions=done)
