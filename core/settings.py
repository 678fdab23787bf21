"""One settings class, read once at start-up and passed in (never a module global).

Every field can be set from the environment with the ``SWITCHBOARD_`` prefix, e.g.
``SWITCHBOARD_CHAT_BACKEND=openai SWITCHBOARD_OPENAI_BASE_URL=http://127.0.0.1:8080/v1``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigurationError

_PLACEHOLDER_SECRETS = {"", "change-me", "dev-secret", "changeme", "secret"}


def machine_cache_dir() -> Path | None:
    """Where files derived from installed packages (the exported MiniLM) are kept, shared by every
    data dir, worker and test of this user: ``$XDG_CACHE_HOME/switchboard/models``, by default
    ``~/.cache/switchboard/models`` (the XDG Base Directory spec, as pip and Hugging Face do).

    None when the process has no home: ``HOME`` unset and its uid not in ``/etc/passwd`` (a
    container run with an arbitrary uid), where ``Path.home()`` raises ``RuntimeError``; the
    embedder then works without a cache instead of failing the server's start."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            return None
    return Path(base) / "switchboard" / "models"


class Settings(BaseSettings):
    """Configuration of one Switchboard process."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")

    # Seams: each picks a backend from its registry by name.
    chat_backend: str = "llama"
    embedder_backend: str = "minilm"
    index_backend: str = "chroma"
    event_bus_backend: str = "memory"
    database_url: str = ""  # empty: SQLite file inside data_dir

    # llama.cpp (embedded default)
    llama_model_path: Path | None = None  # None: the bundled Gemma 3 270M file
    llama_n_ctx: int = 2048
    llama_threads: int = 2
    llama_seed: int = 7

    # OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, OpenAI)
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_api_key: SecretStr = SecretStr("")
    openai_model: str = "default"
    openai_timeout_s: float = 30.0
    openai_connect_timeout_s: float = 3.0
    openai_supports_instructions: bool = True
    openai_api_style: Literal["chat", "completions"] = "chat"

    # Chroma
    chroma_path: Path | None = None  # None: data_dir / "chroma"
    chroma_host: str = ""
    chroma_port: int = 8000

    redis_url: str = "redis://127.0.0.1:6379/0"

    # Eval judge (LLM-scored answer metrics): any OpenAI-compatible endpoint; empty = off
    judge_base_url: str = ""
    judge_model: str = "default"
    judge_api_key: SecretStr = SecretStr("")
    judge_timeout_s: float = 60.0

    # Retrieval and answering
    top_k: int = 4
    answer_passages: int = 2
    passage_chars: int = 600
    max_answer_tokens: int = 96
    grounding_threshold: float = 0.55
    # Below this question-to-sentence similarity (MiniLM) no source sentence answers: abstain.
    extractive_min_similarity: float = 0.42
    model_timeout_s: float = 30.0

    # Content and limits
    default_tenant: str = ""  # what `make run` serves; empty: the tenant of demo_dir/tenant.yaml
    demo_dir: Path = Path("demo")
    max_message_chars: int = 4000
    max_upload_bytes: int = 10 * 1024 * 1024
    max_crm_file_bytes: int = 25 * 1024 * 1024  # one CRM import file (JSON, JSON Lines or CSV)
    max_concurrent_model_calls: int = 2
    messages_per_minute_per_session: int = 30
    messages_per_minute_per_tenant: int = 600
    # Generation only (server/limits.py has the message rates): at most max_concurrent_model_calls
    # run, at most model_queue_length callers wait up to model_queue_wait_s; beyond that the turn
    # is answered without the model (extractive) at once. core/models/guard.py
    model_queue_wait_s: float = 2.0
    model_queue_length: int = 4
    model_breaker_failures: int = 3  # consecutive model failures that open the circuit breaker
    model_breaker_cooldown_s: float = 30.0  # the breaker stays open this long, then one trial call
    # Database faults (core/db/store.py): one statement waits this long for a held lock; a
    # unit of work is tried this many times with backoff, then 503 + Retry-After.
    db_busy_timeout_s: float = 2.0
    db_retry_attempts: int = 3
    event_bus_timeout_s: float = 1.0  # Redis connect/read timeout for publishing (core/events.py)
    embedder_threads: int = 1  # intra-op threads for MiniLM (core/models/embed.py says why one)
    # MiniLM's runtime: "onnx" (exported once into the cache dir, same vectors, 4.4 vs 12.3 ms for one
    # text; falls back to torch with a warning) or "torch" (sentence-transformers). core/models/minilm_onnx.py
    embedder_runtime: Literal["onnx", "torch"] = "onnx"
    # The exported ONNX file (derived from the installed model package, not from any tenant's
    # data, so one per machine and user). None: $XDG_CACHE_HOME/switchboard/models (default
    # ~/.cache/switchboard/models), as pip and Hugging Face keep theirs.
    embedder_cache_dir: Path | None = None
    # Customer messages stored without a reply (crash, dependency error) are answered or handed
    # off by a sweeper: at start-up and every unanswered_sweep_s seconds (0 = off).
    unanswered_sweep_s: float = 15.0
    # Bot turns in flight in one process (threads; server/routes/conversations.py), and how
    # many of them compute at once (server/turns.py): a turn waiting for the model frees its
    # compute slot. Python runs one thread at a time, so more computing turns only make each
    # (and the health check) wait longer (bench load, 200 conversations on 2 cores, load 4.7-7.9:
    # 16 computing at once p95 9.0 s, health p95 89 ms; 4 compute slots p95 6.8 s, health 35 ms).
    turn_threads: int = Field(default=16, ge=1)
    turn_compute_slots: int = Field(default=4, ge=1)
    # Answer-unit vectors of the KB are computed at index time and kept in the data dir; a
    # server checks every unit_vectors_check_s seconds for KB changes to warm (0 = off;
    # turns then embed new units as they meet them). server/unit_vectors.py
    unit_vectors_check_s: float = 10.0
    redact_pii: bool = True  # redaction at the door (messages, uploads, CRM imports, logs)

    # Security
    secret_key: SecretStr = SecretStr("dev-secret")
    api_keys: dict[str, str] = Field(
        default_factory=lambda: {
            "dev-agent-key": ":agent",  # empty tenant: the default tenant
            "dev-editor-key": ":editor",
            "dev-supervisor-key": ":supervisor",
            "dev-evaluator-key": ":evaluator",
            "dev-admin-key": "*:admin",
        },
        description="API key -> 'tenant:role'. Development defaults are refused in production.",
    )
    # Widget tokens: the longest lifetime (issue to expiry) accepted, in seconds (server/auth.py).
    widget_token_max_lifetime_s: int = Field(default=12 * 3600, gt=0)
    # KB loading: one file's budget (knowledge/kb.py); over it the file gets its own error.
    kb_max_chunks_per_file: int = Field(default=1000, gt=0)  # ~1.2 M characters of text
    # Redaction + scan + splitting; generous because a busy machine is slow (the chunk budget bounds the work).
    kb_max_seconds_per_file: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.environment != "production":
            return self
        if self.secret_key.get_secret_value() in _PLACEHOLDER_SECRETS:
            raise ConfigurationError("SWITCHBOARD_SECRET_KEY is a placeholder; set a long random value in production.")
        if any(key.startswith("dev-") for key in self.api_keys):
            raise ConfigurationError("Development API keys are configured; set SWITCHBOARD_API_KEYS in production.")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'switchboard.db'}"

    @property
    def resolved_chroma_path(self) -> Path:
        return self.chroma_path or self.data_dir / "chroma"

    @property
    def resolved_embedder_cache_dir(self) -> Path | None:
        return self.embedder_cache_dir if self.embedder_cache_dir is not None else machine_cache_dir()

    def describe(self) -> dict[str, object]:
        """Settings as recorded in eval reports: secrets masked."""
        out: dict[str, object] = {}
        for name, value in self.model_dump().items():
            if isinstance(getattr(self, name), SecretStr) or name == "api_keys":
                out[name] = "***"
            else:
                out[name] = str(value) if isinstance(value, Path) else value
        return out
