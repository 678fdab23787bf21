"""The output filter lives in ``core.output_filter`` (the copilot's suggested replies pass
the same filter, and bot and copilot never import each other); this module keeps the bot's
import path."""

from core.output_filter import (
    CANARY_PREFIX,
    DEFAULT_ALLOWED_HOSTS,
    OUTPUT_KINDS,
    SAFE_TEXT,
    FilterResult,
    StreamGuard,
    allowed_hosts_for,
    canary_for,
    filter_output,
    foreign_hosts,
    host_allowed,
    new_canary,
)

__all__ = [
    "CANARY_PREFIX",
    "DEFAULT_ALLOWED_HOSTS",
    "OUTPUT_KINDS",
    "SAFE_TEXT",
    "FilterResult",
    "StreamGuard",
    "allowed_hosts_for",
    "canary_for",
    "filter_output",
    "foreign_hosts",
    "host_allowed",
    "new_canary",
]
