"""Self-service actions: turns and time from the customer's request to the result.

Usage: ``python -m bench bot_actions [--n 5] [--company DIR] [--demo]``

The company folder's actions (default: Brightwater) run on the embedded default (MiniLM
intents, SQLite) against the local HTTP service over its ``crm.json`` (its own process,
``evals.crm_service``), and ``get_balance`` once more through a real MCP server (``evals.crm_mcp``): a process
started per call over stdio, and one kept running over streamable HTTP. Each action is played as a scripted
conversation — the request, then the answers a customer gives (the missing parameter, the
"yes" to a write) — until the action has run. "time" is the bot's time over those turns
(the customer's typing excluded), median of ``--n`` runs after a warm-up; "backend" is the
same call made directly to the service (HTTP POST, or the MCP tool), the baseline of the
same run. ``--demo`` adds the demo shop's builtin order actions (in-process, no backend).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.table import print_table, ratio

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "data" / "companies" / "brightwater"
AT = datetime.fromisoformat("2026-03-10T11:00:00+00:00")  # the folder's reference day, within hours

# (action, customer, turns, direct params) — the folder's action cases, completed to the result.
SCRIPTS: list[tuple[str, str | None, list[str], dict[str, Any]]] = [
    (
        "submit_meter_reading",
        "BW-C-1003",
        ["I'd like to give you a reading for my electricity meter. It says 18102 today.", "yes"],
        {"meter_serial": "E17L330962", "reading": 18102, "date": "2026-03-10"},
    ),
    (
        "check_power_cut",
        None,
        ["All my lights have gone off and so have my neighbours'. Is there a power cut?", "SB4 2NJ"],
        {"postcode": "SB4 2NJ"},
    ),
    (
        "set_up_payment_plan",
        "BW-C-1007",
        ["I can't pay the £412.60 all at once. Can I spread it over 6 months?", "yes"],
        {"months": 6},
    ),
    ("get_balance", "BW-C-1006", ["Can you check my balance for me?"], {}),
]


# The demo shop's builtin order actions (``--demo``), at its own reference moment.
DEMO_AT = datetime.fromisoformat("2026-11-18T12:00:00+01:00")
DEMO_SCRIPTS: list[tuple[str, str, list[str]]] = [
    ("order_status", "cus_001", ["where is my order?"]),
    ("cancel_order", "cus_009", ["please cancel my sleeping bag order", "yes"]),
    (
        "change_address",
        "cus_003",
        ["can I still change the delivery address of my tent order?", "Hauptstraße 5, 10115 Berlin, Germany", "yes"],
    ),
    ("start_return", "cus_009", ["I'd like to return my GPS watch", "yes"]),
]


def _play(
    svc: Any, tenant: str, customer: str | None, turns: list[str], at: datetime = AT
) -> tuple[int, float, str, str]:
    """(turns to the result, bot seconds, final status, final reply)."""
    from bot.errors import HandoffRequired
    from bot.state import BotMemory
    from core.types import Author, Turn

    memory: dict[str, Any] = {}
    history: list[Turn] = []
    spent = 0.0
    status, text = "", ""
    for i, message in enumerate(turns, start=1):
        history.append(Turn(author=Author.customer, text=message))
        mem = BotMemory.model_validate(memory)
        start = time.perf_counter()
        try:
            reply = svc.bot.respond(tenant, history, customer_id=customer, memory=mem, now=at, conversation_id="bench")
        except HandoffRequired as h:
            spent += time.perf_counter() - start
            return i, spent, f"handoff/{h.brief.reason.value}", h.customer_message
        spent += time.perf_counter() - start
        memory = mem.model_dump(mode="json")
        history.append(Turn(author=Author.bot, text=reply.text))
        status = str((reply.action_call or {}).get("status", reply.kind))
        text = reply.text
        if status == "executed":
            return i, spent, status, text
    return len(turns), spent, status, text


def _restore_orders(svc: Any) -> None:
    """Put the demo's orders back as shipped in demo/crm (a bench run writes to them)."""
    from sqlalchemy import select

    from core.db.schema import Order

    orders = {o["id"]: o for o in json.loads((ROOT / "demo" / "crm" / "orders.json").read_text(encoding="utf-8"))}
    with svc.store.session("larkspur") as s:
        for row in s.scalars(select(Order)):
            src = orders.get(row.external_id)
            if src is not None:
                row.status = src["status"]
                row.delivery_address = src.get("delivery_address") or {}


def _direct_http(base: str, action: str, customer: str | None, params: dict[str, Any], write: bool) -> float:
    import httpx

    headers = {"Idempotency-Key": f"bench-{time.monotonic_ns()}"} if write else {}
    start = time.perf_counter()
    r = httpx.post(f"{base}/actions/{action}", json={"customer_id": customer, "params": params}, headers=headers)
    r.raise_for_status()
    return time.perf_counter() - start


def _direct_mcp(executor: dict[str, Any], customer: str) -> float:
    from bot.actions.executors.base import ActionCall
    from bot.actions.executors.mcp import McpActionExecutor
    from core.tenancy.actions import ActionSpec

    spec = ActionSpec.model_validate({"name": "get_balance", "description": "balance", "executor": executor})
    start = time.perf_counter()
    McpActionExecutor().call(ActionCall("bench", spec, {}, customer, "bench", AT))
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench bot_actions")
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--company", type=Path, default=DEFAULT)
    ap.add_argument("--demo", action="store_true", help="also the demo shop's builtin order actions")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import yaml

    from core.settings import Settings
    from core.tenancy import parse_tenant_config
    from core.tenancy.convert import admin_to_config, looks_like_admin_layout
    from evals.action_backend import (
        bind_actions,
        local_action_service,
        local_mcp_server,
        mcp_http_executor,
        mcp_stdio_executor,
    )
    from server.container import Services
    from server.tenants import Onboarding

    raw = yaml.safe_load((args.company / "tenant.yaml").read_text(encoding="utf-8"))
    data = admin_to_config(raw).data if looks_like_admin_layout(raw) else raw
    crm = args.company / "crm.json"
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        feeds = Path(tmp) / "feeds"
        feeds.mkdir()
        (feeds / "check_power_cut.json").write_text(json.dumps([{"postcode": "SB4 2NJ", "restore_by": "18:00"}]))
        with ExitStack() as stack:
            base = stack.enter_context(local_action_service(crm, feeds=feeds, journal=Path(tmp) / "journal.jsonl"))
            svc = Services(Settings(environment="test", data_dir=Path(tmp) / "data"))
            onboarding = Onboarding(svc)
            bound = bind_actions(data, base)
            onboarding.apply(parse_tenant_config(bound))
            onboarding.import_crm(str(bound["id"]), [crm])
            tenant = str(bound["id"])
            kinds = {a["name"]: a.get("kind", "read") for a in bound["actions"]}
            _play(svc, tenant, "BW-C-1006", ["Can you check my balance for me?"])  # warm-up: model + intents
            plans: list[tuple[str, str, str | None, list[str], dict[str, Any]]] = [
                (name, "http", c, t, p) for name, c, t, p in SCRIPTS
            ]
            mcp_server = stack.enter_context(local_mcp_server(crm, ["get_balance"]))
            mcps = {
                "mcp stdio": mcp_stdio_executor(crm, "get_balance"),
                "mcp http": mcp_http_executor(mcp_server, "get_balance"),
            }
            for via in mcps:
                plans.append(("get_balance", via, "BW-C-1006", ["Can you check my balance for me?"], {}))
            for name, via, customer, turns, params in plans:
                if via in mcps:
                    for a in bound["actions"]:
                        if a["name"] == name:
                            a["executor"] = mcps[via]
                    onboarding.apply(parse_tenant_config(bound))
                runs = [_play(svc, tenant, customer, turns) for _ in range(args.n)]
                write = kinds.get(name) == "write"
                if via in mcps:
                    direct = [_direct_mcp(mcps[via], customer or "") for _ in range(args.n)]
                else:
                    direct = [_direct_http(base, name, customer, params, write) for _ in range(args.n)]
                took = statistics.median(r[1] for r in runs)
                back = statistics.median(direct)
                rows.append([name, via, runs[0][0], runs[0][2], took, back, ratio(took, back)])
            svc.close()
    if args.demo:
        from server.demo import load_demo

        with tempfile.TemporaryDirectory() as tmp:
            svc = Services(Settings(environment="test", data_dir=Path(tmp), demo_dir=ROOT / "demo"))
            load_demo(svc)
            _play(svc, "larkspur", "cus_001", ["where is my order?"], DEMO_AT)  # warm-up
            for name, customer, turns in DEMO_SCRIPTS:
                runs = []
                for _ in range(args.n):  # a fresh copy of the orders each run: writes change them
                    runs.append(_play(svc, "larkspur", customer, turns, DEMO_AT))
                    if runs[-1][2] != "executed" or name == "order_status":
                        continue
                    _restore_orders(svc)
                took = statistics.median(r[1] for r in runs)
                rows.append([name, "builtin", runs[0][0], runs[0][2], took, "-", "-"])
            svc.close()
    print_table(["action", "executor", "turns", "status", "bot s (p50)", "backend s (p50)", "ratio"], rows)
    print(f"n={args.n} per action; embedded default (MiniLM intents, SQLite); company {args.company.name}")
    return 0
