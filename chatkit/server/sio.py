"""The Socket.IO server class, with two fixes to python-socketio/engineio behaviour."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio
from aiohttp import web
from engineio.async_drivers import aiohttp as aiohttp_driver

from chatkit.aiotools import cancel_and_wait

log = logging.getLogger("chatkit.realtime")

CLOSE_ALL_TIMEOUT_SECONDS = 5.0


class _UncompressedWebSocket(aiohttp_driver.WebSocket):  # type: ignore[misc]
    """engineio's aiohttp websocket, without permessage-deflate.

    Chat frames are small JSON: compressing each one for each recipient costs about a third
    of the CPU of a delivery and keeps a zlib context (~64 KB) per connection, for almost no
    bytes saved.
    """

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=False
        )
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


class ChatSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per instance, not by patching the driver module for everyone.
        self.eio._async = {**self.eio._async, "websocket": _UncompressedWebSocket}

    def start_manager(self) -> None:
        """Start the client manager now (python-socketio waits for the first connection),
        so a process subscribes to Redis before it has sockets and /readyz can tell."""
        if not getattr(self, "manager_initialized", False):
            self.manager_initialized = True
            self.manager.initialize()

    async def stop_manager(self) -> None:
        """Stop the manager's background listener (Redis), if it runs one."""
        await cancel_and_wait(getattr(self.manager, "thread", None))

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        await super()._handle_eio_disconnect(eio_sid, reason)
        # When a polling client says goodbye, engineio keeps its pending long-poll GET open
        # until the ping timeout (~45 s), which also holds up a graceful shutdown. Wake it.
        socket = self.eio.sockets.get(eio_sid)
        if socket is not None and not socket.upgraded:
            socket.queue.put_nowait(None)

    async def close_all_transports(self) -> None:
        """Drop every connection at the transport level, as a restart would.

        Clients see "transport close" and reconnect by themselves (to another process behind
        the load balancer). An Engine.IO CLOSE packet or a namespace disconnect would instead
        tell some clients (python-socketio's among them) that the server wants them gone.
        """
        sockets = list(self.eio.sockets.values())
        for socket in sockets:
            # Ends the websocket writer (which then closes the websocket) or a long-poll.
            socket.queue.put_nowait(None)
        deadline = asyncio.get_running_loop().time() + CLOSE_ALL_TIMEOUT_SECONDS
        while self.eio.sockets and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        log.info("closed %d connections (%d still open)", len(sockets), len(self.eio.sockets))
