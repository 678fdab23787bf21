"""Switchboard's exception tree, grouped by who must act.

    SwitchboardError
    ├── ConfigurationError      the operator must fix settings or install something
    ├── InvalidInput            the caller sent something we cannot use
    │   └── PayloadTooLarge
    ├── NotFound                the id does not exist (or is not visible to the caller)
    ├── Forbidden               the caller's role or tenant does not allow it
    ├── Conflict                the request clashes with the current state
    ├── RateLimited             too many requests; retry later
    ├── UpstreamError           a model or service we depend on failed
    │   ├── ModelUnavailable
    │   ├── ModelTimeout
    │   ├── StoreUnavailable    the database stayed locked or unreachable after retries
    │   └── EventBusUnavailable the event bus is down or a subscription was lost
    └── ContentRefused          the content may not be processed (e.g. an injection)

HTTP status codes are assigned in ``server/`` only.
"""

from __future__ import annotations


class SwitchboardError(Exception):
    """Base of every error Switchboard raises on purpose."""


class ConfigurationError(SwitchboardError):
    """Settings are wrong or a required component is missing."""


class InvalidInput(SwitchboardError):
    """The caller sent something that cannot be used."""


class PayloadTooLarge(InvalidInput):
    """The input is larger than the configured limit."""


class NotFound(SwitchboardError):
    """The thing asked for does not exist for this caller."""


class Forbidden(SwitchboardError):
    """The caller may not do this."""


class Conflict(SwitchboardError):
    """The request clashes with the current state."""


class RateLimited(SwitchboardError):
    """Too many requests in the current window."""

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class UpstreamError(SwitchboardError):
    """A model or service Switchboard depends on failed."""


class ModelUnavailable(UpstreamError):
    """The chat model or embedder cannot be reached or loaded."""


class ModelTimeout(UpstreamError):
    """The model did not answer in time."""


class StoreUnavailable(UpstreamError):
    """The database stayed locked or unreachable after bounded retries; nothing was written.
    ``retry_after_s`` says when trying again is sensible."""

    def __init__(self, message: str, retry_after_s: float = 2.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class EventBusUnavailable(UpstreamError):
    """The event bus cannot be reached, or a subscription lost events: reconnect and fetch
    what was missed from the store."""


class ContentRefused(SwitchboardError):
    """Content that must not be processed, e.g. a prompt-injection attempt."""
