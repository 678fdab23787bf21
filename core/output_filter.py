"""The output filter: a pure function applied to every generated answer before
the customer sees it (and before it is stored).

* **system-prompt leak** — the prompt carries a random canary per request; an answer
  containing it (or our delimiter markers) is blocked;
* **links** — URLs, bare domains and e-mail addresses whose host is not on the
  tenant's allow-list block the answer (an injected "visit www.example.com" must not
  reach a customer, and removing only the link would leave the lure);
* **card data** — card numbers, CVVs, IBANs, national ids and secrets are masked in
  place (the answer is still useful).

A blocked answer is replaced by the caller with the extractive answer (filtered again)
or a refusal; ``FilterResult.reasons`` goes to the audit log.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from core.redaction import Kind, RedactionResult, default_redactor

SAFE_TEXT = "I'm sorry, I can't help with that here. Could you rephrase your question about your order or our services?"
CANARY_PREFIX = "SBX"
DEFAULT_ALLOWED_HOSTS: frozenset[str] = frozenset()
OUTPUT_KINDS = frozenset({Kind.card, Kind.cvv, Kind.expiry, Kind.iban, Kind.national_id, Kind.secret})

_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\b")
# bare domains like "shoplux.com/deals" (common TLDs only, to spare "e.g." and "3.5")
_BARE = re.compile(
    r"(?<![@\w.-])((?:[a-z0-9-]+\.)+(?:com|net|org|info|biz|io|co|xyz|top|ru|cn|de|fr|es|it|uk|us|eu|app|shop|online|site"
    r"|store|link|click|ly|me|tk))\b(?:/[^\s]*)?",
    re.IGNORECASE,
)
_DELIMITER = re.compile(r"<<[0-9a-f]{6,}>>")


def new_canary() -> str:
    """A random token to plant in one prompt (pass it to ``filter_output`` afterwards)."""
    return f"{CANARY_PREFIX}-{secrets.token_hex(6)}"


def canary_for(delimiter: str) -> str:
    """The canary ``prompts/templates/answer.j2`` plants for this request's delimiter."""
    return f"{CANARY_PREFIX}-{delimiter.strip('<>')}"


def allowed_hosts_for(config: Mapping[str, object], urls: Iterable[str] = ()) -> frozenset[str]:
    """The tenant's allow-list: its configuration's ``allowed_link_hosts`` (or the older
    ``allowed_hosts``) if set, else the hosts of its help-center URLs (``help_center_url`` and
    the cited article URLs) and their parent domain (``help.shop.example`` admits
    ``shop.example`` and its subdomains)."""
    configured = config.get("allowed_link_hosts") or config.get("allowed_hosts")
    if isinstance(configured, (list, tuple, set, frozenset)) and configured:
        return frozenset(str(h).lower() for h in configured)
    hosts = {(urlsplit(u).hostname or "").lower() for u in [str(config.get("help_center_url", "")), *urls]}
    parents = {h.split(".", 1)[1] for h in hosts if h.count(".") >= 2}
    return frozenset(h for h in hosts | parents if h)


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    for a in allowed:
        a = a.lower().lstrip(".")
        a = a[4:] if a.startswith("www.") else a
        if host == a or host.endswith("." + a):
            return True
    return False


@dataclass(frozen=True)
class FilterResult:
    text: str  # the answer to show (masked) or SAFE_TEXT when blocked
    blocked: bool  # the caller should fall back to the extractive answer or a refusal
    reasons: tuple[str, ...] = ()
    removed_hosts: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.reasons)


def foreign_hosts(text: str, allowed: Iterable[str]) -> list[str]:
    allowed = list(allowed)
    hosts: list[str] = []
    for m in _URL.finditer(text):
        raw = m.group()
        host = urlsplit(raw if "://" in raw else "http://" + raw).hostname or ""
        if host and not host_allowed(host, allowed):
            hosts.append(host)
    for m in _EMAIL.finditer(text):
        if not host_allowed(m.group(1), allowed):
            hosts.append(m.group(1).lower())
    without_urls_and_mails = _EMAIL.sub(" ", _URL.sub(" ", text))
    for m in _BARE.finditer(without_urls_and_mails):
        if not host_allowed(m.group(1), allowed):
            hosts.append(m.group(1).lower())
    return sorted(set(hosts))


def filter_output(text: str, allowed_hosts: Iterable[str], canary: str | None) -> FilterResult:
    """Check one model answer. ``canary`` is the token planted in this request's prompt."""
    reasons: list[str] = []
    if canary and canary in text:
        reasons.append("canary")
    elif _DELIMITER.search(text) or CANARY_PREFIX + "-" in text:
        reasons.append("prompt_markers")
    hosts = foreign_hosts(text, allowed_hosts)
    if hosts:
        reasons.append("foreign_link")
    if reasons:
        return FilterResult(SAFE_TEXT, True, tuple(reasons), tuple(hosts))
    masked = _masked(text)
    if masked.changed:
        return FilterResult(masked.text, False, ("card_data",))
    return FilterResult(text, False)


@lru_cache(maxsize=256)
def _masked(text: str) -> RedactionResult:
    """``text`` with the output kinds masked, once per text: an answer is checked when its
    stream closes and again as the reply to store. Only generated or composed text passes
    here (answers, suggested replies), never a customer's message as typed."""
    return default_redactor().redact(text, kinds=OUTPUT_KINDS)


class StreamGuard:
    """Wraps a token sink: streams only text that passes ``filter_output``, holding back
    the last ``holdback`` characters (a link or card number may still be arriving) and
    going silent for the rest of the answer once anything is caught. The final message
    (filtered as a whole) replaces the streamed text in the widget.

    The text so far is filtered once at least ``step`` more characters (default: ``holdback``)
    can be released, not on every token: each check scans the whole text, so checking every
    word of an answer cost the square of its length. Whatever is released has passed the
    filter with ``holdback`` characters after it, as before; ``close`` checks the whole answer."""

    def __init__(
        self,
        sink: Callable[[str], None],
        allowed_hosts: Iterable[str],
        canary: str | None,
        holdback: int = 24,
        step: int | None = None,
    ) -> None:
        self.sink = sink
        self.allowed = frozenset(allowed_hosts)
        self.canary = canary
        self.holdback = holdback
        self.step = max(1, holdback if step is None else step)
        self.buffer = ""
        self.sent = 0
        self.stopped = False

    def __call__(self, piece: str) -> None:
        if self.stopped:
            return
        self.buffer += piece
        upto = len(self.buffer) - self.holdback
        if upto - self.sent >= self.step:
            self._release(upto)

    def _release(self, upto: int) -> None:
        if upto <= self.sent:
            return
        result = filter_output(self.buffer, self.allowed, self.canary)
        if result.changed:
            self.stopped = True
            return
        self.sink(self.buffer[self.sent : upto])
        self.sent = upto

    def close(self) -> None:
        """The answer is complete: release what was held back (if it is clean)."""
        if not self.stopped:
            self._release(len(self.buffer))


__all__ = [
    "StreamGuard",
    "FilterResult",
    "SAFE_TEXT",
    "allowed_hosts_for",
    "canary_for",
    "filter_output",
    "foreign_hosts",
    "host_allowed",
    "new_canary",
]
