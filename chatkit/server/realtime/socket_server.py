"""The Socket.IO server class, with fixes to python-socketio/engineio behaviour."""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

import socketio
from aiohttp import web
from engineio.async_drivers import aiohttp as aiohttp_driver

from chatkit.aiotools import cancel_and_wait

log = logging.getLogger("chatkit.realtime")

CLOSE_ALL_TIMEOUT_SECONDS = 5.0
# Names python-socketio gives to what happens to a connection; a client may not send them as
# events (it would run on_disconnect for a socket that stays connected, or on_connect again).
LIFECYCLE_EVENTS = frozenset({"connect", "connect_error", "disconnect"})


class _ChatWebSocket(aiohttp_driver.WebSocket):  # type: ignore[misc]
    """engineio's aiohttp websocket, without permessage-deflate, closed on a non-Engine.IO frame.

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

    async def wait(self) -> Any:
        """The next frame; one that is not Engine.IO ends the connection like a close.

        engineio decodes each frame outside its error handling: an empty frame, or one that
        is not an Engine.IO packet, raised out of the connection handler, which skipped the
        clean-up (the socket stayed "connected" until the ping timeout, ~45 s) and wrote an
        HTTP error response onto the upgraded connection.
        """
        data = await super().wait()
        if isinstance(data, str) and not _is_engineio_text(data):
            log.info("closing a websocket that sent a frame which is not Engine.IO")
            return None
        return data


class ChatSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per instance, not by patching the driver module for everyone.
        self.eio._async = {**self.eio._async, "websocket": _ChatWebSocket}

    async def _handle_event(self, eio_sid: str, namespace: str, id: Any, data: Any) -> None:
        """A client event; the lifecycle names are refused (with an error ack if one is asked)."""
        name = data[0] if isinstance(data, list) and data else None
        if isinstance(name, str) and name in LIFECYCLE_EVENTS:
            if id is not None:
                refusal = {
                    "ok": False,
                    "error": {
                        "code": "invalid_event",
                        "message": f"{name} is not an event a client may send",
                    },
                }
                await self._send_packet(
                    eio_sid,
                    self.packet_class(
                        socketio.packet.ACK, namespace=namespace, id=id, data=[refusal]
                    ),
                )
            return
        await super()._handle_event(eio_sid, namespace, id, data)

    def start_manager(self) -> None:
        """Start the client manager now (python-socketio waits for the first connection),
        so a process subscribes to Redis before it has sockets and /readyz can tell."""
        if not getattr(self, "manager_initialized", False):
            self.manager_initialized = True
            self.manager.initialize()

    async def stop_manager(self) -> None:
        """Stop the manager's background listener (Redis), if it runs one."""
        await cancel_and_wait(getattr(self.manager, "thread", None))
        close = getattr(self.manager, "close", None)
        if close is not None:
            await close()

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
        websockets = []
        for socket in sockets:
            # Ends the websocket writer (which then closes the websocket) or a long-poll.
            socket.queue.put_nowait(None)
            if socket.upgraded:
                websockets.append(socket)
            else:
                # A polling client may have vanished without a pending request to end:
                # forget it now rather than at its ping timeout.
                await socket.close(wait=False, abort=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLOSE_ALL_TIMEOUT_SECONDS
        while any(not ws.closed for ws in websockets) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        still_open = sum(1 for ws in websockets if not ws.closed)
        log.info("closed %d connections (%d still open)", len(sockets), still_open)


def _is_engineio_text(frame: str) -> bool:
    if not frame:
        return False
    if frame[0] == "b":  # base64 binary
        try:
            base64.b64decode(frame[1:], validate=True)
        except ValueError:
            return False
        return True
    return frame[0] in "0123456789"
