"""Real python-socketio clients that record what they receive, to await with timeouts."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio

from tests.support.contract import check_ack, check_event

EVENTS = (
    "new_message",
    "user_typing",
    "messages_read",
    "token_expired",
    "token_revoked",
    "message_updated",
    "message_deleted",
    "presence",
)
TIMEOUT = 5.0


class Recorder:
    def __init__(self, client: socketio.AsyncClient) -> None:
        self.client = client
        self.queues: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.disconnected = asyncio.Event()
        for event in EVENTS:
            client.on(event, self._handler(event), namespace="/chat")
        client.on("disconnect", self._on_disconnect, namespace="/chat")

    def _handler(self, event: str) -> Any:
        async def handle(data: Any) -> None:
            self.queues[event].put_nowait(data)

        return handle

    async def _on_disconnect(self, *args: Any) -> None:
        self.disconnected.set()

    async def next(self, event: str, timeout: float = TIMEOUT) -> Any:
        payload = await asyncio.wait_for(self.queues[event].get(), timeout)
        check_event(event, payload)
        return payload

    def pending(self, event: str) -> list[Any]:
        """What has arrived and not been taken yet (after a barrier, see `barrier`)."""
        items = []
        queue = self.queues[event]
        while not queue.empty():
            items.append(queue.get_nowait())
            check_event(event, items[-1])
        return items

    async def call(self, event: str, payload: Any, timeout: float = TIMEOUT) -> Any:
        reply = await self.client.call(event, payload, namespace="/chat", timeout=timeout)
        check_ack(event, reply)
        return reply

    async def emit(self, event: str, payload: Any) -> None:
        await self.client.emit(event, payload, namespace="/chat")

    async def barrier(self) -> None:
        """Wait until the server has handled everything this client sent before.

        The server answers acks in order per socket, and anything it pushed before the ack
        travels on the same connection, so after this returns the client has received it.
        """
        await self.call("leave_conversation", {"conversationId": "barrier"})


@asynccontextmanager
async def connected(
    url: str,
    token: str | None = None,
    *,
    transport: str = "websocket",
    how: str = "auth",
) -> AsyncIterator[Recorder]:
    client = socketio.AsyncClient(reconnection=False)
    recorder = Recorder(client)
    kwargs: dict[str, Any] = {
        "namespaces": ["/chat"],
        "transports": [transport],
        "wait_timeout": TIMEOUT,
    }
    target = url
    if token is not None:
        if how == "auth":
            kwargs["auth"] = {"token": token}
        elif how == "header":
            kwargs["headers"] = {"Authorization": f"Bearer {token}"}
        elif how == "query":
            target = f"{url}?token={token}"
        else:
            raise ValueError(how)
    await client.connect(target, **kwargs)
    try:
        yield recorder
    finally:
        await client.disconnect()


async def refused(url: str, **kwargs: Any) -> Any:
    """Try to connect; return what `connect_error` carried (fails the test if it connects)."""
    client = socketio.AsyncClient(reconnection=False)
    errors: asyncio.Queue[Any] = asyncio.Queue()

    async def on_error(data: Any = None) -> None:
        errors.put_nowait(data)

    client.on("connect_error", on_error, namespace="/chat")
    try:
        await client.connect(url, namespaces=["/chat"], wait_timeout=TIMEOUT, **kwargs)
    except socketio.exceptions.ConnectionError:
        return await asyncio.wait_for(errors.get(), TIMEOUT)
    await client.disconnect()
    raise AssertionError("the connection was accepted")
