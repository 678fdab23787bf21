"""What the role guard (``server/deps.py``) needs on every request, kept in this process so
that a request passes the guard without a database read and without a thread of its own.

- A tenant's configuration **as read for signing in** (which widget secrets verify its
  tokens), for ``config_ttl_s`` seconds. A change made through this worker is seen at once
  (``Services.tenant_changed`` calls ``forget``); one made through another worker within
  ``config_ttl_s`` (a JWKS-style cache: a rotated-out secret keeps verifying that long on
  the other workers; a rotation's overlap is hours). Only tenants that exist are kept: the
  tenant id is read from a token before its signature is checked, so anyone can send any.
  Everything past the guard reads the configuration itself.
- A conversation's owner (customer and visitor ids): fixed when the conversation is created
  and never changed, so an owner once read is kept (LRU, ``max_conversations``). Only
  conversations that exist are kept; a conversation deleted meanwhile (erasure, or its
  tenant deleted through another worker) still passes the guard for its own customer and
  for staff, so every conversation route reads the conversation itself (404).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from core.db.conversations import conversation_owner
from core.db.store import Store

CONFIG_TTL_S = 2.0
MAX_CONVERSATIONS = 50_000  # ~150 bytes each: a few MB

Owner = tuple[str | None, str | None]


class AccessCache:
    """Thread-safe. ``*_cached`` answer from memory or None (a miss: call the reading method,
    off the event loop, which reads the database and keeps the answer)."""

    def __init__(
        self,
        store: Store,
        *,
        config_ttl_s: float = CONFIG_TTL_S,
        max_conversations: int = MAX_CONVERSATIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if config_ttl_s < 0 or max_conversations < 0:
            raise ValueError("config_ttl_s and max_conversations must not be negative")
        self._store = store
        self._ttl = config_ttl_s
        self._max = max_conversations
        self._clock = clock
        self._lock = threading.Lock()
        self._configs: dict[str, tuple[float, dict[str, Any]]] = {}
        self._owners: OrderedDict[tuple[str, str], Owner] = OrderedDict()

    # -- tenant configuration (sign-in) --------------------------------------------------------

    def config_cached(self, tenant_id: str) -> dict[str, Any] | None:
        with self._lock:
            kept = self._configs.get(tenant_id)
        if kept is None or self._clock() - kept[0] >= self._ttl:
            return None
        return kept[1]

    def config(self, tenant_id: str) -> dict[str, Any]:
        """The tenant's configuration (``{}`` for an unknown tenant, read every time), from
        memory when fresh."""
        kept = self.config_cached(tenant_id)
        if kept is not None:
            return kept
        read_at = self._clock()
        row = self._store.tenant_row(tenant_id)
        if row is None:  # not kept: the id comes from a token not verified yet (any caller can make one up)
            return {}
        config = row[1]
        if self._ttl > 0:
            with self._lock:
                self._configs[tenant_id] = (read_at, config)
        return config

    # -- conversation owners ---------------------------------------------------------------------

    def owner_cached(self, tenant_id: str, conversation_id: str) -> Owner | None:
        key = (tenant_id, conversation_id)
        with self._lock:
            owner = self._owners.get(key)
            if owner is not None:
                self._owners.move_to_end(key)
            return owner

    def owner(self, tenant_id: str, conversation_id: str) -> Owner:
        """``(customer_id, visitor_id)``; raises ``NotFound`` when the id is not a
        conversation of ``tenant_id`` (not kept: it may be created later under no one's id)."""
        owner = self.owner_cached(tenant_id, conversation_id)
        if owner is not None:
            return owner
        with self._store.reading() as conn:
            owner = conversation_owner(conn, tenant_id, conversation_id)
        self.remember(tenant_id, conversation_id, owner)
        return owner

    def remember(self, tenant_id: str, conversation_id: str, owner: Owner) -> None:
        """Keep the owner of a conversation just created (its first message skips the read)."""
        if self._max:
            with self._lock:
                self._owners[(tenant_id, conversation_id)] = owner
                while len(self._owners) > self._max:
                    self._owners.popitem(last=False)

    def forget(self, tenant_id: str) -> None:
        """The tenant's configuration changed or the tenant was deleted."""
        with self._lock:
            self._configs.pop(tenant_id, None)
            for key in [k for k in self._owners if k[0] == tenant_id]:
                del self._owners[key]
