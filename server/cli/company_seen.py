"""What the product did in a company-eval case, read from what it returns and stores: the
action of a bot turn (the reply's meta, the pending action in the conversation's memory, the
``action.*`` audit entries) and what the agent console shows for a customer's message (the
events published to the agent topic). Pure: ``server.cli.company.CompanyRun`` reads the
records and hands them over.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.events import Event
from evals.company import ActionSeen, CopilotSeen, ReplySeen, SuggestedArticle

__all__ = ["action_seen", "copilot_seen"]

_PENDING_META = frozenset({"kind", "name", "action", "awaiting", "candidates", "status", "writes", "question"})
_ARGS_KEYS = ("args", "arguments", "params", "parameters", "slots", "values", "filled")
_DONE = frozenset({"done", "executed", "completed", "success", "ok", "ran"})


def action_seen(
    meta: dict[str, Any],
    bot_memory: dict[str, Any],
    audits: list[tuple[str, str, dict[str, Any]]],
    state: str,
    writes: Callable[[str], bool | None],
) -> ActionSeen | None:
    """The action of this turn from the product's structured output: the reply's
    ``action`` / ``mode`` (status) / ``action_args``, the pending action kept in the
    conversation's memory (what the bot waits for, the slots filled so far) and the
    ``action.*`` audit entries written during the turn. ``writes``: whether the tenant
    declares the named action a write (None: not declared)."""
    call = meta.get("action_call")
    if isinstance(call, dict) and call.get("name"):  # the product's own record of the action (bot/actions)
        called = str(call["name"])
        return ActionSeen(
            name=called,
            status=str(call.get("status") or ""),
            args=dict(call.get("args") or {}),
            awaiting=str(call["awaiting"]) if call.get("awaiting") else None,
            executed=bool(call.get("executed")),
            writes=call["writes"] if isinstance(call.get("writes"), bool) else writes(called),
        )
    pending = bot_memory.get("pending") if isinstance(bot_memory.get("pending"), dict) else None
    name = (
        meta.get("action")
        or (pending or {}).get("name")
        or (pending or {}).get("kind")
        or (pending or {}).get("action")
    )
    if not name and audits:
        name = audits[0][0].split(".")[1] if audits[0][0].count(".") >= 1 else None
    if not name:
        return None
    name = str(name)
    args: dict[str, Any] = {}
    for source in (pending or {}, meta, *(d for _, _, d in audits)):
        for key in _ARGS_KEYS + ("action_args",):
            if isinstance(source.get(key), dict):
                args.update(source[key])
    if pending:
        args.update(
            {
                k: v
                for k, v in pending.items()
                if k not in _PENDING_META and k not in _ARGS_KEYS and v not in (None, "", [])
            }
        )
    status = str(meta.get("mode") or meta.get("action_status") or "")
    awaiting = (pending or {}).get("awaiting")
    if awaiting is None and state == "awaiting_confirmation":
        awaiting = "confirmation"
    audit_names = [a for a, _, _ in audits]
    executed = status in _DONE or any(a.endswith((".done", ".executed", ".ran", ".succeeded")) for a in audit_names)
    return ActionSeen(
        name=name,
        status=status,
        args=args,
        awaiting=str(awaiting) if awaiting else None,
        executed=executed and not awaiting,
        writes=writes(name),
    )


def copilot_seen(events: list[tuple[float, Event]], seq: int, submitted: float) -> CopilotSeen | None:
    """What the agent console shows for the customer's message ``seq``: the last suggestions
    and replies published for it (``events``: arrival time and event, as recorded), with the
    latency from ``submitted``."""
    fast = [(at, e) for at, e in events if e.type == "suggestions" and e.data.get("message_seq") == seq]
    if not fast:
        return None
    at, sug = fast[-1]
    data = sug.data
    nba = data.get("next_action") or {}
    guidance = [str(x) for x in [nba.get("guidance"), *(nba.get("details") or [])] if x]
    replies_ev = [e for _, e in events if e.type == "replies" and e.data.get("message_seq") == seq]
    replies = [
        ReplySeen(
            text=str(r.get("text", "")),
            citations=[str(c.get("article_id", "")) for c in r.get("citations", []) or [] if isinstance(c, dict)],
            mode=str(r.get("mode", "")),
        )
        for e in replies_ev[-1:]
        for r in e.data.get("replies", []) or []
        if isinstance(r, dict)
    ]
    return CopilotSeen(
        articles=[
            SuggestedArticle(
                article_id=str(a.get("article_id", "")),
                title=str(a.get("title", "")),
                visibility=str(a.get("visibility", "")),
                score=float(a.get("score") or 0.0),
            )
            for a in data.get("articles", []) or []
            if isinstance(a, dict)
        ],
        next_action=(str(nba.get("key") or nba.get("action")) if (nba.get("key") or nba.get("action")) else None),
        next_action_detail=dict(nba),
        replies=replies,
        guidance=guidance,
        latency_s=round(at - submitted, 3),
    )
