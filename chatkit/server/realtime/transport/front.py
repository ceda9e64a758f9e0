"""The listening socket's protocol: reads the head of a connection's first request and
decides who keeps the connection.

A websocket upgrade that opens an Engine.IO session on the Socket.IO path
(`GET /socket.io/?EIO=4&transport=websocket`, no `sid`) is answered and kept by the
`LeanHub`; everything else (REST, long-polling, an upgrade of a polling session, anything
malformed) is handed, with the bytes already read, to aiohttp's own protocol, which then
keeps the connection for all its requests. Only the first request of a connection passes
here, and a request that cannot be the Socket.IO upgrade is handed over at its first bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import parse_qs

from aiohttp import web

from chatkit.server.realtime.transport.lean import LeanHub
from chatkit.server.services import SERVICES

PREFIX = b"GET /socket.io/?"
# A head longer than this is aiohttp's to refuse (431).
MAX_HEAD = 16 * 1024


class FrontProtocol(asyncio.Protocol):
    __slots__ = ("_transport", "_buffer", "_http", "_hub", "_allowed")

    def __init__(
        self,
        http: Callable[[], asyncio.Protocol],
        hub: LeanHub,
        allowed: Callable[[str | None], bool],
    ) -> None:
        self._http = http
        self._hub = hub
        self._allowed = allowed
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not registered as asyncio.Transport subclasses.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        self._buffer = buffer
        if not buffer.startswith(PREFIX[: len(buffer)]):
            self._hand_over()
            return
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEAD:
                self._hand_over()
            return
        upgrade = _websocket_open(buffer[:end])
        if upgrade is None or not self._allowed(upgrade[1].get("HTTP_ORIGIN")):
            self._hand_over()
            return
        transport, self._transport = self._transport, None
        assert transport is not None
        self._buffer = b""
        key, environ = upgrade
        self._hub.accept(transport, key, environ, buffer[end + 4 :])

    def eof_received(self) -> bool | None:
        self._hand_over()
        return None

    def _hand_over(self) -> None:
        transport, self._transport = self._transport, None
        if transport is None:
            return
        buffer, self._buffer = self._buffer, b""
        protocol = self._http()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if buffer:
            protocol.data_received(buffer)


def _websocket_open(head: bytes) -> tuple[bytes, dict[str, Any]] | None:
    """(Sec-WebSocket-Key, the environ python-socketio gets) for an Engine.IO websocket
    session opening, or None for anything else."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        return None
    request_line, *lines = text.split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or parts[2] != "HTTP/1.1":
        return None
    query = parts[1].partition("?")[2]
    fields = parse_qs(query)
    if fields.get("EIO") != ["4"] or fields.get("transport") != ["websocket"]:
        return None
    if "sid" in fields or "j" in fields or not parts[1].startswith("/socket.io/?"):
        return None
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            return None
        name = name.lower()
        headers[name] = f"{headers[name]},{value.strip()}" if name in headers else value.strip()
    connection = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    key = headers.get("sec-websocket-key", "")
    if (
        headers.get("upgrade", "").lower() != "websocket"
        or "upgrade" not in connection
        or headers.get("sec-websocket-version") != "13"
        or not key
    ):
        return None
    # What the namespace reads at connect time, and nothing else of the request.
    environ: dict[str, Any] = {"QUERY_STRING": query}
    if "authorization" in headers:
        environ["HTTP_AUTHORIZATION"] = headers["authorization"]
    if "origin" in headers:
        environ["HTTP_ORIGIN"] = headers["origin"]
    return key.encode(), environ


async def listen(
    runner: web.AppRunner, host: str, port: int, *, reuse_port: bool = False
) -> asyncio.Server:
    """Listen on host:port with the front protocol, for the chatkit app of `runner` (set up
    already). The caller closes the server before `runner.cleanup()`."""
    http = runner.server
    assert http is not None, "runner.setup() first"
    sio = runner.app[SERVICES].sio
    hub, allowed = sio.lean, sio.origin_allowed
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: FrontProtocol(http, hub, allowed),
        host,
        port,
        reuse_port=reuse_port or None,
        reuse_address=True,
        backlog=4096,
    )
