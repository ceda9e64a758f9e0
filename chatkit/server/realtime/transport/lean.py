"""Engine.IO v4 over a websocket, kept by one small protocol object per connection.

An idle websocket costs its `LeanSocket` (slots: its id, the transport, the frame parser,
two flags, its ping slot), one entry in the hub's dict and one in a ping-wheel bucket: no
task, no timer, no queue, nothing of the HTTP request. Outgoing frames go straight to
`transport.write`; the kernel and the transport buffer them, and a client that lets more
than `MAX_BACKLOG` bytes pile up is closed. Pings for every socket go through one
`PingWheel` (one timer for the whole process).

Packets, namespaces, acks and rooms stay python-socketio's: the hub hands it each
connection, message and disconnection through the three callables it is built with.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Callable
from typing import Any

from chatkit.server.realtime.transport import wsframes
from chatkit.server.realtime.transport.wsframes import FrameError, FrameParser

log = logging.getLogger("chatkit.realtime")

# A client that does not read lets at most this much pile up in its transport.
MAX_BACKLOG = 4 * 1024 * 1024
# Engine.IO reasons, named as python-engineio names them.
CLIENT_DISCONNECT, SERVER_DISCONNECT = "CLIENT_DISCONNECT", "SERVER_DISCONNECT"
PING_TIMEOUT, TRANSPORT_CLOSE, TRANSPORT_ERROR = (
    "PING_TIMEOUT",
    "TRANSPORT_CLOSE",
    "TRANSPORT_ERROR",
)

Connected = Callable[[str, dict[str, Any]], None]
Received = Callable[[str, "str | bytes"], None]
Gone = Callable[[str, str], None]


class LeanSocket(asyncio.Protocol):
    __slots__ = ("sid", "transport", "parser", "hub", "awaiting_pong", "slot", "closed", "paused")

    def __init__(self, hub: LeanHub, sid: str, transport: asyncio.Transport) -> None:
        self.sid = sid
        self.transport = transport
        self.parser = FrameParser(hub.max_size)
        self.hub = hub
        self.awaiting_pong = False
        self.slot = 0
        self.closed = False
        self.paused = False

    # --- in ------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            messages = self.parser.feed(data)
        except FrameError as error:
            self.close(error.code, str(error), TRANSPORT_ERROR)
            return
        for opcode, payload in messages:
            if self.closed:
                return
            if opcode == wsframes.TEXT:
                try:
                    text = payload.decode()
                except UnicodeDecodeError:
                    self.close(wsframes.INVALID_DATA, "text that is not UTF-8", TRANSPORT_ERROR)
                    return
                self._engineio(text)
            elif opcode == wsframes.BINARY:
                self.hub.received(self.sid, payload)
            elif opcode == wsframes.PING:
                self.transport.write(wsframes.frame(wsframes.PONG, payload))
            elif opcode == wsframes.CLOSE:
                self.close(wsframes.NORMAL, "", TRANSPORT_CLOSE)

    def _engineio(self, text: str) -> None:
        kind = text[:1]
        if kind == "4":
            self.hub.received(self.sid, text[1:])
        elif kind == "3":
            self.hub.wheel.pong(self)
        elif kind == "1":
            self.close(wsframes.NORMAL, "", CLIENT_DISCONNECT)
        elif kind == "b":
            try:
                self.hub.received(self.sid, base64.b64decode(text[1:], validate=True))
            except (binascii.Error, ValueError):
                self.close(wsframes.INVALID_DATA, "not Engine.IO", TRANSPORT_ERROR)
        elif not kind or not kind.isdigit():
            # Not an Engine.IO packet at all: the client is not speaking the protocol.
            self.close(wsframes.INVALID_DATA, "not Engine.IO", TRANSPORT_ERROR)
        # A ping, an upgrade or a noop from the client means nothing here (as in engineio).

    # --- out -----------------------------------------------------------------------------

    def send(self, encoded: str | bytes) -> None:
        """One Engine.IO packet, already encoded (`pkt.encode()`)."""
        if self.closed:
            return
        if isinstance(encoded, str):
            self.transport.write(wsframes.frame(wsframes.TEXT, encoded.encode()))
        else:
            self.transport.write(wsframes.frame(wsframes.BINARY, encoded))
        # Past the transport's high-water mark the frames wait in its buffer; only a client
        # that stopped reading gets `max_backlog` behind.
        if self.paused and self.transport.get_write_buffer_size() > self.hub.max_backlog:
            log.info("closing websocket %s: its client stopped reading", self.sid)
            self.close(wsframes.GOING_AWAY, "too far behind", TRANSPORT_ERROR, abort=True)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False

    # --- end -----------------------------------------------------------------------------

    def close(self, code: int, reason: str, why: str, *, abort: bool = False) -> None:
        """Send a websocket close (unless aborting) and end the connection; python-socketio
        is told once, with `why` (an engineio reason name)."""
        if self.closed:
            return
        self.closed = True
        if abort:
            self.transport.abort()
        else:
            self.transport.write(wsframes.close_frame(code, reason))
            self.transport.close()
        self.hub.forget(self, why)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.closed = True
            self.hub.forget(self, TRANSPORT_CLOSE)


class PingWheel:
    """Pings every socket each `interval` seconds and closes those that miss the pong by
    `timeout`, with one timer for all: sockets sit in one-second buckets by due time."""

    def __init__(self, interval: float, timeout: float) -> None:
        self.interval = interval
        self.timeout = timeout
        self._buckets: dict[int, set[LeanSocket]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._next = 0
        self._ticking = False

    def add(self, socket: LeanSocket) -> None:
        self._put(socket, asyncio.get_running_loop().time() + self.interval)

    def remove(self, socket: LeanSocket) -> None:
        bucket = self._buckets.get(socket.slot)
        if bucket is not None:
            bucket.discard(socket)
            if not bucket:
                del self._buckets[socket.slot]

    def pong(self, socket: LeanSocket) -> None:
        if socket.awaiting_pong:
            socket.awaiting_pong = False
            self.remove(socket)
            self._put(socket, asyncio.get_running_loop().time() + self.interval)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._buckets.clear()

    def _put(self, socket: LeanSocket, due: float) -> None:
        slot = int(due) + 1
        socket.slot = slot
        self._buckets.setdefault(slot, set()).add(socket)
        if not self._ticking and (self._timer is None or slot < self._next):
            self._arm(slot)

    def _arm(self, slot: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._next = slot
        self._timer = asyncio.get_running_loop().call_at(slot, self._tick)

    @property
    def armed_for(self) -> int | None:
        """The bucket the timer will run next (None when idle)."""
        return self._next if self._timer is not None else None

    @property
    def earliest(self) -> int | None:
        return min(self._buckets) if self._buckets else None

    def _tick(self) -> None:
        self._timer = None
        now = asyncio.get_running_loop().time()
        # Sockets put back while ticking must not re-arm the timer past earlier buckets.
        self._ticking = True
        try:
            for slot in sorted(slot for slot in self._buckets if slot <= now):
                for socket in self._buckets.pop(slot):
                    if socket.awaiting_pong:
                        socket.close(wsframes.NORMAL, "ping timeout", PING_TIMEOUT)
                    else:
                        socket.awaiting_pong = True
                        socket.send("2")
                        self._put(socket, now + self.timeout)
        finally:
            self._ticking = False
        if self._buckets:
            self._arm(min(self._buckets))


class LeanHub:
    """The websockets this process keeps itself, by Engine.IO session id."""

    def __init__(
        self,
        *,
        new_sid: Callable[[], str],
        connected: Connected,
        received: Received,
        gone: Gone,
        max_size: int,
        ping_interval: float,
        ping_timeout: float,
    ) -> None:
        self.sockets: dict[str, LeanSocket] = {}
        self.wheel = PingWheel(ping_interval, ping_timeout)
        self.max_backlog = MAX_BACKLOG
        self.max_size = max_size
        self.received = received
        self._new_sid = new_sid
        self._connected = connected
        self._gone = gone

    def accept(
        self, transport: asyncio.Transport, key: bytes, environ: dict[str, Any], rest: bytes
    ) -> None:
        """Answer the upgrade, open the Engine.IO session and keep the connection."""
        sid = self._new_sid()
        socket = LeanSocket(self, sid, transport)
        transport.set_protocol(socket)
        transport.write(
            wsframes.accept_response(key) + wsframes.frame(wsframes.TEXT, self._open_packet(sid))
        )
        self.sockets[sid] = socket
        self.wheel.add(socket)
        self._connected(sid, environ)
        if rest:
            socket.data_received(rest)

    def _open_packet(self, sid: str) -> bytes:
        handshake = {
            "sid": sid,
            "upgrades": [],
            "pingTimeout": int(self.wheel.timeout * 1000),
            "pingInterval": int(self.wheel.interval * 1000),
            "maxPayload": self.max_size,
        }
        return b"0" + json.dumps(handshake, separators=(",", ":")).encode()

    def forget(self, socket: LeanSocket, why: str) -> None:
        if self.sockets.pop(socket.sid, None) is None:
            return
        self.wheel.remove(socket)
        self._gone(socket.sid, why)

    def close_all(self) -> int:
        """End every connection at the transport level, as a restart would."""
        sockets = list(self.sockets.values())
        for socket in sockets:
            socket.close(wsframes.GOING_AWAY, "server shutting down", TRANSPORT_CLOSE)
        self.wheel.stop()
        return len(sockets)
