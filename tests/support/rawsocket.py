"""A Socket.IO v4 client spoken by hand over a raw websocket (aiohttp), for what a polite
client library never sends: malformed frames, and a consumer that stops reading.

Engine.IO v4 text frames: "0{...}" open, "2"/"3" ping/pong, "4<socket.io packet>" message.
Socket.IO packets inside: "0/chat,{auth}" connect, "2/chat,<ack id>[event, ...args]" event,
"3/chat,<ack id>[...]" ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

TIMEOUT = 5.0


class RawSocket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ack_ids = itertools.count(1000)
        self.events: list[tuple[str, Any]] = []  # events received while waiting for acks

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def receive_packet(self, timeout: float = TIMEOUT) -> str:
        """The next Socket.IO packet (Engine.IO pings are answered on the way)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            message = await asyncio.wait_for(self.ws.receive(), max(remaining, 0.001))
            if message.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"the websocket ended: {message.type!r} {message.data!r}")
            frame: str = message.data
            if frame == "1":  # Engine.IO CLOSE: the server ends the connection
                raise ConnectionError("the server closed the Engine.IO session")
            if frame == "2":
                await self.ws.send_str("3")
            elif frame.startswith("4"):
                return frame[1:]

    async def call(self, event: str, *args: Any, timeout: float = TIMEOUT) -> Any:
        """Emit with an ack id and return the ack's first argument (events seen are kept)."""
        ack_id = next(self._ack_ids)
        await self.send(f"42/chat,{ack_id}{json.dumps([event, *args])}")
        prefix = f"3/chat,{ack_id}"
        while True:
            packet = await self.receive_packet(timeout)
            if packet.startswith(prefix):
                answer = json.loads(packet[len(prefix) :])
                return answer[0] if answer else None
            if packet.startswith("2/chat,"):
                name, *data = json.loads(packet[len("2/chat,") :])
                self.events.append((name, data[0] if data else None))

    async def answers_or_closes(self, within: float = 1.0) -> str:
        """ "answered" if an event with an ack id is acknowledged within `within` seconds,
        "closed" if the connection ends first; TimeoutError if neither (a deaf socket)."""
        try:
            await self.call("leave_conversation", {"conversationId": "probe"}, timeout=within)
        except ConnectionError:
            return "closed"
        except (aiohttp.ClientError, RuntimeError):  # writing to a websocket being closed
            return "closed"
        return "answered"


@contextlib.asynccontextmanager
async def raw_connected(
    url: str, token: str, *, receive_buffer: int | None = None
) -> AsyncIterator[RawSocket]:
    """Open /chat over a websocket, authenticated with `token`, by hand.

    `receive_buffer` shrinks the kernel's receive buffer (SO_RCVBUF) of the connection, so
    that a client that stops reading pushes back on the server after a few kilobytes.
    """
    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"

    def small_buffer_socket(addr_info: Any) -> socket.socket:
        family, kind, proto, _, _ = addr_info
        sock = socket.socket(family, kind, proto)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        return sock

    connector = aiohttp.TCPConnector(socket_factory=small_buffer_socket)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.ws_connect(ws_url, autoping=False) as ws,
    ):
        opened = await asyncio.wait_for(ws.receive_str(), TIMEOUT)
        assert opened.startswith("0{"), opened
        raw = RawSocket(ws)
        await raw.send("40/chat," + json.dumps({"token": token}))
        connected = await raw.receive_packet()
        assert connected.startswith("0/chat,"), connected
        yield raw
