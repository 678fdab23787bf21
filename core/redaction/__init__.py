"""Redaction at the door: personal data and secrets are replaced before anything is
stored, logged, embedded or sent to a model (see docs/trust.md)."""

from __future__ import annotations

from functools import lru_cache

from core.redaction.logs import RedactingFilter, install_log_redaction
from core.redaction.patterns import Kind, Span, luhn_ok
from core.redaction.presidio import PresidioDetector
from core.redaction.redactor import ALL_KINDS, KB_KINDS, RedactionResult, Redactor, placeholder


@lru_cache(maxsize=1)
def default_redactor() -> Redactor:
    """The process-wide redactor (Presidio recognizers are built on first use)."""
    return Redactor()


def redact(text: str) -> str:
    return default_redactor()(text)


__all__ = [
    "ALL_KINDS",
    "KB_KINDS",
    "Kind",
    "PresidioDetector",
    "RedactingFilter",
    "RedactionResult",
    "Redactor",
    "Span",
    "default_redactor",
    "install_log_redaction",
    "luhn_ok",
    "placeholder",
    "redact",
]
