"""Live agent assist: for each new customer message in a conversation a human owns, push
suggestions over the agent's topic in two events.

1. ``suggestions`` (fast, no generation): KB articles with the highlighted passage, CRM
   facts, next best action and sentiment trend.
2. ``replies``: suggested replies grounded in those articles (the model streams
   ``reply_token`` events meanwhile).

Every event carries ``message_seq``. Work for an older message is skipped, and its result
not published, once a newer customer message has arrived, so the console never shows
stale suggestions.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import func, select

from copilot.replies import ReplyDrafter
from copilot.suggest import ArticleSuggestion, Copilot, ReplySuggestions, Suggestions
from copilot.summaries import Summarizer
from core.db.conversations import conversation_row, message_rows, turns_of
from core.db.schema import Message
from core.db.store import Store
from core.events import Event, EventBus, agent_topic
from core.types import Author, Passage, Turn, Visibility

log = logging.getLogger("switchboard.copilot")


@dataclass
class LiveJob:
    """Handles on one message's work (tests and benchmarks wait on them)."""

    message_seq: int
    submitted: float
    fast: Future[Suggestions | None] = field(default_factory=Future)
    replies: Future[ReplySuggestions | None] = field(default_factory=Future)
    fast_latency_ms: float | None = None  # submit -> suggestions published
    first_token_ms: float | None = None  # submit -> first reply token


@dataclass(frozen=True)
class _Snapshot:
    turns: list[Turn]
    seqs: list[int]
    customer_id: str | None
    done_actions: list[str]
    latest_customer_seq: int


def _passage(a: ArticleSuggestion) -> Passage:
    return Passage(
        chunk_id=a.id,
        article_id=a.article_id,
        version=a.version,
        title=a.title,
        url=a.url,
        section=a.section,
        text=a.passage,
        visibility=Visibility(a.visibility),
        language=a.language,
        score=a.score,
    )


class LiveAssist:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        copilot: Copilot,
        drafter: ReplyDrafter,
        summarizer: Summarizer,
        *,
        fast_workers: int = 2,
        reply_workers: int = 1,
    ) -> None:
        if fast_workers < 1 or reply_workers < 1:
            raise ValueError("fast_workers and reply_workers must be at least 1")
        self.store = store
        self.bus = bus
        self.copilot = copilot
        self.drafter = drafter
        self.summarizer = summarizer
        self._fast = ThreadPoolExecutor(fast_workers, thread_name_prefix="copilot-fast")
        self._slow = ThreadPoolExecutor(reply_workers, thread_name_prefix="copilot-replies")
        self._latest: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._warmed: set[str] = set()
        self._idle = threading.Condition()
        self._in_flight = 0

    # -- staleness ------------------------------------------------------------------------

    def _note(self, tenant: str, conv_id: str, seq: int) -> None:
        with self._lock:
            key = (tenant, conv_id)
            self._latest[key] = max(seq, self._latest.get(key, 0))

    def latest_customer_seq(self, tenant: str, conv_id: str) -> int:
        with self.store.read_session(tenant) as s:
            db = s.scalar(
                select(func.max(Message.seq)).where(
                    Message.conversation_id == conv_id, Message.author == Author.customer.value
                )
            )
        with self._lock:
            return max(int(db or 0), self._latest.get((tenant, conv_id), 0))

    def is_stale(self, tenant: str, conv_id: str, seq: int) -> bool:
        return self.latest_customer_seq(tenant, conv_id) > seq

    # -- work -----------------------------------------------------------------------------

    def _snapshot(self, tenant: str, conv_id: str) -> _Snapshot:
        with self.store.read_session(tenant) as s:  # rows, not ORM objects: this runs per customer message
            conv = conversation_row(s, conv_id)
            messages = message_rows(s, conv_id)
            memory = dict((conv.memory or {}).get("copilot", {}))
            customer_id = conv.customer_id
        customer_seqs = [m.seq for m in messages if m.author == Author.customer.value]
        return _Snapshot(
            turns=turns_of(messages),
            seqs=[m.seq for m in messages],
            customer_id=customer_id,
            done_actions=[str(a) for a in memory.get("done_actions", [])],
            latest_customer_seq=max(customer_seqs, default=0),
        )

    def _publish(self, tenant: str, conv_id: str, type_: str, data: dict[str, object]) -> None:
        self.bus.publish(
            agent_topic(tenant, conv_id), Event(type=type_, tenant_id=tenant, conversation_id=conv_id, data=data)
        )

    def submit(self, tenant: str, conv_id: str, message_seq: int | None = None) -> LiveJob:
        """Schedule suggestions for the customer message ``message_seq`` (None: the latest)."""
        if message_seq is not None:
            self._note(tenant, conv_id, message_seq)
        job = LiveJob(message_seq=message_seq or 0, submitted=time.perf_counter())
        with self._idle:
            self._in_flight += 1
        job.replies.add_done_callback(self._finished)  # every job ends by settling ``replies``
        self._fast.submit(self._run_fast, tenant, conv_id, job)
        return job

    def _finished(self, _: object) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every submitted job has settled (tests, graceful shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def _run_fast(self, tenant: str, conv_id: str, job: LiveJob) -> None:
        try:
            snap = self._snapshot(tenant, conv_id)
            seq = job.message_seq or snap.latest_customer_seq
            job.message_seq = seq
            if snap.latest_customer_seq > seq or seq == 0:
                job.fast.set_result(None)  # a newer message has its own job (or there is nothing to answer)
                job.replies.set_result(None)
                return
            turns = [t for t, s in zip(snap.turns, snap.seqs, strict=True) if s <= seq]
            seqs = [s for s in snap.seqs if s <= seq]
            suggestions = self.copilot.suggest(
                tenant, turns, customer_id=snap.customer_id, message_seq=seq, seqs=seqs, done_actions=snap.done_actions
            )
            if self.is_stale(tenant, conv_id, seq):
                job.fast.set_result(None)
                job.replies.set_result(None)
                return
            self._publish(tenant, conv_id, "suggestions", suggestions.model_dump(mode="json"))
            job.fast_latency_ms = (time.perf_counter() - job.submitted) * 1000
            job.fast.set_result(suggestions)
        except Exception as exc:  # noqa: BLE001  (a failed suggestion must never break the conversation)
            log.exception("copilot suggestions failed for %s", conv_id)
            job.fast.set_exception(exc)
            job.replies.set_result(None)
            return
        self._slow.submit(self._run_replies, tenant, conv_id, job, turns, suggestions)

    def _run_replies(self, tenant: str, conv_id: str, job: LiveJob, turns: list[Turn], s: Suggestions) -> None:
        seq = s.message_seq
        try:
            if self.is_stale(tenant, conv_id, seq) or not any(a.visibility == "public" for a in s.articles):
                job.replies.set_result(None)
                return
            started = time.perf_counter()

            def on_token(piece: str) -> None:
                if job.first_token_ms is None:
                    job.first_token_ms = (time.perf_counter() - job.submitted) * 1000
                self._publish(tenant, conv_id, "reply_token", {"message_seq": seq, "text": piece})

            passages = [_passage(a) for a in s.articles]
            company, hosts, fingerprint = self.copilot.reply_safety(tenant, passages)
            replies = self.drafter.draft(
                turns,
                passages,
                message_seq=seq,
                question=None,
                language=s.language,
                company=company,
                allowed_hosts=hosts,
                fingerprint=fingerprint,
                on_token=on_token,
                is_stale=lambda: self.is_stale(tenant, conv_id, seq),
            )
            result = ReplySuggestions(
                message_seq=seq,
                replies=replies,
                language=s.language,
                compute_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            if self.is_stale(tenant, conv_id, seq):
                job.replies.set_result(None)
                return
            self._publish(tenant, conv_id, "replies", result.model_dump(mode="json"))
            job.replies.set_result(result)
        except Exception as exc:  # noqa: BLE001
            log.exception("copilot replies failed for %s", conv_id)
            job.replies.set_exception(exc)

    def publish_summary(self, tenant: str, conv_id: str) -> None:
        """Rolling summary at handoff, computed off the request thread; then the tenant's
        copilot is warmed (``warm``) before an agent claims the conversation."""

        def run() -> None:
            try:
                snap = self._snapshot(tenant, conv_id)
                summary = self.summarizer.summarize(snap.turns, tenant)
                self._publish(tenant, conv_id, "summary", summary.model_dump(mode="json"))
            except Exception:  # noqa: BLE001
                log.exception("copilot summary failed for %s", conv_id)
            self._warm(tenant)

        self._slow.submit(run)

    def warm(self, tenant: str) -> None:
        """Build the tenant's copilot state in the background (``Copilot.warm``), once per process."""
        self._slow.submit(self._warm, tenant)

    def _warm(self, tenant: str) -> None:
        with self._lock:
            if tenant in self._warmed:
                return
            self._warmed.add(tenant)
        try:
            self.copilot.warm(tenant)
        except Exception:  # noqa: BLE001  (the first suggestion builds it then)
            log.exception("warming the copilot for %s failed", tenant)

    def close(self) -> None:
        self._fast.shutdown(wait=False, cancel_futures=True)
        self._slow.shutdown(wait=False, cancel_futures=True)
