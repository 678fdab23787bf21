"""Websockets: one per conversation for the customer and for the agent, and the agents' queue.

Reconnecting clients send ``?since=<seq>`` (the last message sequence number they have):
after the subscription is open, the socket first sends every stored message after it and
the conversation's current state, then live events, so nothing falls in between. When the
event bus is unreachable or a subscription loses events, the socket closes with code 1013
("try again later"); the widget and the console reconnect on it and fetch what they missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from core.errors import EventBusUnavailable, SwitchboardError
from core.events import Event, agent_topic, customer_topic, queue_topic
from server.auth import Principal, Role
from server.container import Services
from server.deps import STAFF, authenticate
from server.service import ConversationService

router = APIRouter(tags=["websockets"])

TRY_AGAIN_LATER = 1013  # RFC 6455 registry: the service is overloaded or a dependency is down
Replay = Callable[[], Awaitable[list[Event]]]


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


async def _pump(ws: WebSocket, services: Services, topic: str, hello: Event, replay: Replay | None = None) -> None:
    await ws.accept()
    try:
        async with services.bus.subscribe(topic) as events:
            await ws.send_text(hello.model_dump_json())
            if replay is not None:  # subscribed first, so nothing published meanwhile is lost
                for event in await replay():
                    await ws.send_text(event.model_dump_json())

            async def forward() -> None:
                async for event in events:
                    await ws.send_text(event.model_dump_json())

            async def listen() -> None:
                with contextlib.suppress(WebSocketDisconnect):
                    while True:
                        await ws.receive_text()  # keep-alive pings; the client sends nothing else

            tasks = [asyncio.create_task(forward()), asyncio.create_task(listen())]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            if tasks[0] in done:  # the subscription ended: events may have been lost
                error = tasks[0].exception() if not tasks[0].cancelled() else None
                raise EventBusUnavailable(str(error) if error else "the event stream ended")
    except (EventBusUnavailable, OSError) as exc:
        with contextlib.suppress(Exception):
            await ws.close(code=TRY_AGAIN_LATER, reason=f"events interrupted; reconnect: {exc}"[:120])
    except WebSocketDisconnect:
        pass


async def _check_conversation(ws: WebSocket, principal: Principal, conversation_id: str) -> bool:
    services: Services = ws.app.state.services
    try:
        await run_in_threadpool(ConversationService(services).get, principal, conversation_id)
    except SwitchboardError as exc:
        await ws.close(code=4404, reason=str(exc)[:120])
        return False
    return True


def _replay(ws: WebSocket, principal: Principal, conversation_id: str) -> Replay | None:
    """Stored messages after ``?since=`` and the current state, as events."""
    raw = ws.query_params.get("since")
    if raw is None or not raw.lstrip("-").isdigit():
        return None
    since = int(raw)
    services: Services = ws.app.state.services

    async def replay() -> list[Event]:
        conv, messages = await run_in_threadpool(
            ConversationService(services).since, principal, conversation_id, since
        )
        tenant = principal.tenant_id
        out = [
            Event(type="message", tenant_id=tenant, conversation_id=conversation_id, data=m.model_dump(mode="json"))
            for m in messages
        ]
        out.append(Event(type="state", tenant_id=tenant, conversation_id=conversation_id, data={"state": conv.state}))
        return out

    return replay


@router.websocket("/ws/conversations/{conversation_id}")
async def customer_socket(ws: WebSocket, conversation_id: str) -> None:
    principal = await _authorise(ws, (Role.customer,))
    if principal is None or not await _check_conversation(ws, principal, conversation_id):
        return
    hello = Event(type="hello", tenant_id=principal.tenant_id, conversation_id=conversation_id)
    topic = customer_topic(principal.tenant_id, conversation_id)
    await _pump(ws, ws.app.state.services, topic, hello, _replay(ws, principal, conversation_id))


@router.websocket("/ws/agent/conversations/{conversation_id}")
async def agent_socket(ws: WebSocket, conversation_id: str) -> None:
    principal = await _authorise(ws, STAFF)
    if principal is None or not await _check_conversation(ws, principal, conversation_id):
        return
    hello = Event(type="hello", tenant_id=principal.tenant_id, conversation_id=conversation_id)
    topic = agent_topic(principal.tenant_id, conversation_id)
    await _pump(ws, ws.app.state.services, topic, hello, _replay(ws, principal, conversation_id))


@router.websocket("/ws/agent/queue")
async def queue_socket(ws: WebSocket) -> None:
    principal = await _authorise(ws, STAFF)
    if principal is None:
        return
    hello = Event(type="hello", tenant_id=principal.tenant_id)
    await _pump(ws, ws.app.state.services, queue_topic(principal.tenant_id), hello)
