"""Websockets: one per conversation for the customer and for the agent, and the agents' queue."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from core.errors import SwitchboardError
from core.events import Event, agent_topic, customer_topic, queue_topic
from server.auth import Principal, Role
from server.container import Services
from server.deps import STAFF, authenticate
from server.service import ConversationService

router = APIRouter(tags=["websockets"])


async def _authorise(ws: WebSocket, roles: tuple[Role, ...]) -> Principal | None:
    services: Services = ws.app.state.services
    try:
        principal = await run_in_threadpool(
            authenticate,
            services,
            f"Bearer {ws.query_params['token']}" if "token" in ws.query_params else None,
            ws.query_params.get("key"),
        )
    except SwitchboardError as exc:
        await ws.close(code=4403, reason=str(exc)[:120])
        return None
    if principal.role not in roles:
        await ws.close(code=4403, reason="role not allowed")
        return None
    return principal


async def _pump(ws: WebSocket, services: Services, topic: str, hello: Event | None = None) -> None:
    async with services.bus.subscribe(topic) as events:
        await ws.accept()
        if hello is not None:
            await ws.send_text(hello.model_dump_json())

        async def forward() -> None:
            async for event in events:
                await ws.send_text(event.model_dump_json())

        task = asyncio.create_task(forward())
        try:
            while True:
                await ws.receive_text()  # keep-alive pings; the client sends nothing else
        except WebSocketDisconnect:
            pass
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _check_conversation(ws: WebSocket, principal: Principal, conversation_id: str) -> bool:
    services: Services = ws.app.state.services
    try:
        await run_in_threadpool(ConversationService(services).get, principal, conversation_id)
    except SwitchboardError as exc:
        await ws.close(code=4404, reason=str(exc)[:120])
        return False
    return True


@router.websocket("/ws/conversations/{conversation_id}")
async def customer_socket(ws: WebSocket, conversation_id: str) -> None:
    principal = await _authorise(ws, (Role.customer,))
    if principal is None or not await _check_conversation(ws, principal, conversation_id):
        return
    hello = Event(type="hello", tenant_id=principal.tenant_id, conversation_id=conversation_id)
    await _pump(ws, ws.app.state.services, customer_topic(principal.tenant_id, conversation_id), hello)


@router.websocket("/ws/agent/conversations/{conversation_id}")
async def agent_socket(ws: WebSocket, conversation_id: str) -> None:
    principal = await _authorise(ws, STAFF)
    if principal is None or not await _check_conversation(ws, principal, conversation_id):
        return
    hello = Event(type="hello", tenant_id=principal.tenant_id, conversation_id=conversation_id)
    await _pump(ws, ws.app.state.services, agent_topic(principal.tenant_id, conversation_id), hello)


@router.websocket("/ws/agent/queue")
async def queue_socket(ws: WebSocket) -> None:
    principal = await _authorise(ws, STAFF)
    if principal is None:
        return
    hello = Event(type="hello", tenant_id=principal.tenant_id)
    await _pump(ws, ws.app.state.services, queue_topic(principal.tenant_id), hello)
