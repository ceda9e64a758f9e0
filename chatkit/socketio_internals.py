"""Every use of python-socketio's and python-engineio's private internals, in one module.

Written for python-socketio 5.18.1-5.x and python-engineio 4.15.1-4.x (`SUPPORTED_VERSIONS`,
checked at start-up by ChatSocketServer; pyproject.toml caps both below their next major).
The rest of chatkit subclasses the bases here and overrides only public names or the hooks
defined here. docs/upstream.md writes up the library bugs worked around here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import engineio
import socketio
from aiohttp import web
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as aiohttp_driver
from socketio import packet as sio_packet

from chatkit.aiotools import cancel_and_wait

log = logging.getLogger("chatkit.realtime")

# (lowest tested, first unsupported) per distribution.
SUPPORTED_VERSIONS = {
    # 5.18.0 loses events between processes through the Redis manager (test_scale_out.py).
    "python-socketio": ((5, 18, 1), (6, 0, 0)),
    "python-engineio": ((4, 15, 1), (5, 0, 0)),
}
CLOSE_ALL_TIMEOUT_SECONDS = 5.0


class _ChatWebSocket(aiohttp_driver.WebSocket):  # type: ignore[misc]
    """engineio's aiohttp websocket (for upgrades from polling), without permessage-deflate
    (docs/upstream.md 6) and closed on a frame that is not Engine.IO (7)."""

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
        data = await super().wait()
        if isinstance(data, str) and not self.server.rules.is_engineio_text(data):
            log.info("closing a websocket that sent a frame which is not Engine.IO")
            return None
        return data


class _CachedBody:
    """The body aiohttp has already read, as engineio's `wsgi.input`."""

    def __init__(self, request: web.Request) -> None:
        self._request = request

    async def read(self, length: int = -1) -> bytes:
        return await self._request.read()


async def _translate_request(request: web.Request) -> dict[str, Any]:
    environ: dict[str, Any] = aiohttp_driver.translate_request(request)
    if request.method == "POST":
        environ["wsgi.input"] = _CachedBody(request)
    return environ


class _EngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """engineio's server: refuses at once a polling POST a client may not send (9), a
    request on a closed session (10); sends to websockets kept by the lean transport."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._async: dict[str, Any] = {
            **self._async,
            "websocket": _ChatWebSocket,
            "translate_request": _translate_request,
        }

    async def handle_request(self, request: web.Request) -> web.StreamResponse:
        sid = request.query.get("sid")
        socket = self.sockets.get(sid) if sid is not None else None
        if socket is not None and socket.closed:
            del self.sockets[sid]
            return _refusal("the session is closed")
        if request.method == "POST":
            body = await request.read()  # bounded by the application's client_max_size
            problem = self.rules.unpostable(body)
            if problem is not None:
                if sid is not None:
                    await close_engineio_socket(self, sid, problem)
                return _refusal(problem)
        response: web.StreamResponse = await super().handle_request(request)
        return response

    lean: Any = None  # the lean transport's hub, once attached
    rules: Any = None  # chatkit.server.realtime.frames

    async def send_packet(self, sid: str, pkt: eio_packet.Packet) -> None:
        socket = self.lean.sockets.get(sid) if self.lean is not None else None
        if socket is None:
            await super().send_packet(sid, pkt)
        else:
            socket.send(pkt.encode())

    async def disconnect(self, sid: str | None = None) -> None:
        """engineio calls this on a request's protocol error: close at once, without
        waiting for the CLOSE packet to be fetched by a GET that may never come."""
        if sid is None:
            await super().disconnect()
        else:
            await close_engineio_socket(self, sid, "an Engine.IO protocol error")


def _refusal(why: str) -> web.Response:
    # Engine.IO's own error shape (code 3 is "Bad request").
    return web.json_response({"code": 3, "message": why}, status=400)


async def close_engineio_socket(eio: Any, eio_sid: str, why: str) -> None:
    """Close one Engine.IO session now: disconnect handlers run, the client gets a CLOSE
    packet, the websocket (or the pending long-poll) ends without waiting for anyone."""
    lean = eio.lean.sockets.get(eio_sid) if eio.lean is not None else None
    if lean is not None:
        log.info("closing websocket %s: %s", eio_sid, why)
        lean.send(eio_packet.Packet(eio_packet.CLOSE).encode())
        lean.close(1000, "", "SERVER_DISCONNECT")
        return
    socket = eio.sockets.get(eio_sid)
    if socket is None:
        return
    log.info("closing connection %s: %s", eio_sid, why)
    # CLOSE first; the disconnect handlers then end the writer or the long-poll.
    if socket.upgraded:
        socket.queue.put_nowait(eio_packet.Packet(eio_packet.CLOSE))
    await socket.close(wait=False, abort=True)
    socket.queue.put_nowait(None)
    eio.sockets.pop(eio_sid, None)


class ChatServerBase(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server where no packet leaves a socket deaf: a malformed packet
    gets an error ack (if its ack id can be read) or is dropped while the connection keeps
    answering; one after which the session cannot be trusted closes that connection."""

    def __init__(self, *args: Any, rules: Any, **kwargs: Any) -> None:
        """`rules`: what a client may send (chatkit.server.realtime.frames)."""
        super().__init__(*args, **kwargs)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.rules = self.eio.rules = rules
        self.lean: Any = None

    def attach_lean(self, hub: Any) -> None:
        """Websockets opened directly are kept by this hub (chatkit's lean transport), which
        reports to `lean_connected`, `lean_received` and `lean_gone`; polling (and its
        upgrades) stay engineio's."""
        self.lean = self.eio.lean = hub

    def lean_connected(self, sid: str, environ: dict[str, Any]) -> None:
        self._spawn(self._handle_eio_connect(sid, environ))

    def lean_received(self, sid: str, data: str | bytes) -> None:
        self._spawn(self._handle_eio_message(sid, data))

    def lean_gone(self, sid: str, why: str) -> None:
        self._spawn(self._handle_eio_disconnect(sid, getattr(self.eio.reason, why)))

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _EngineServer

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- packets in ---------------------------------------------------------------------

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await self._dispatch(eio_sid, data)
        except Exception:  # a bug here must not leave a socket deaf: close it
            log.exception("packet handling failed; closing the connection")
            await self._close(eio_sid, "internal error")

    async def _dispatch(self, eio_sid: str, data: Any) -> None:
        pending = self._binary_packet.get(eio_sid)
        if pending is not None:
            await self._attachment(eio_sid, pending, data)
            return
        if not isinstance(data, str):
            log.info("dropping a binary frame that no packet announced")
            return
        try:
            pkt = self.packet_class(encoded_packet=data)
        except (ValueError, TypeError, RecursionError):
            await self._undecodable(eio_sid, data)
            return
        kind = pkt.packet_type
        if kind == sio_packet.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif kind == sio_packet.DISCONNECT:
            if pkt.data is not None:
                await self._close(eio_sid, "a DISCONNECT packet with a payload")
            else:
                await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
        elif kind == sio_packet.EVENT:
            await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)
        elif kind == sio_packet.ACK:
            await self._handle_ack(eio_sid, pkt.namespace, pkt.id, pkt.data)
        elif kind in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK):
            if not 0 < pkt.attachment_count <= self.rules.MAX_ATTACHMENTS:
                await self._close(eio_sid, f"{pkt.attachment_count} binary attachments")
            elif self.manager.sid_from_eio_sid(eio_sid, pkt.namespace or "/") is None:
                await self._close(eio_sid, "a binary packet on a namespace not connected")
            else:
                self._binary_packet[eio_sid] = pkt
        else:
            log.info("dropping a Socket.IO packet of type %s from a client", kind)

    async def _attachment(self, eio_sid: str, pending: Any, data: Any) -> None:
        if not isinstance(data, bytes):
            await self._close(eio_sid, "a text frame where a binary attachment belongs")
            return
        try:
            complete = pending.add_attachment(data)
        except (ValueError, TypeError, LookupError, RecursionError):
            await self._close(eio_sid, "a binary packet that does not fit its attachments")
            return
        if not complete:
            return
        del self._binary_packet[eio_sid]
        if pending.packet_type == sio_packet.BINARY_EVENT:
            await self._handle_event(eio_sid, pending.namespace, pending.id, pending.data)
        else:
            await self._handle_ack(eio_sid, pending.namespace, pending.id, pending.data)

    async def _undecodable(self, eio_sid: str, data: str) -> None:
        """A packet whose data is not JSON (or too deep for it): an error ack if it asked."""
        head = self.rules.header(data)
        if head is None or head.ack_id is None or head.kind not in self.rules.EVENTS:
            log.info("dropping a Socket.IO packet that does not decode")
        elif head.kind == self.rules.BINARY_EVENT:  # its attachments would have nothing to join
            await self._close(eio_sid, "a binary packet that does not decode")
        else:
            await self._ack(eio_sid, head.namespace, head.ack_id, self.rules.UNDECODABLE)

    async def _handle_event(self, eio_sid: str, namespace: Any, id: Any, data: Any) -> None:
        """A client event; lifecycle names, shapeless data and unjoined namespaces are
        refused (with an error ack if one is asked)."""
        namespace = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        connected = self.manager.is_connected(sid, namespace)
        refusal = self.rules.event_refusal(data, connected=connected, namespace=namespace)
        if refusal is None:
            await super()._handle_event(eio_sid, namespace, id, data)
        elif id is not None:
            await self._ack(eio_sid, namespace, id, refusal)

    async def _ack(self, eio_sid: str, namespace: str, id: int, answer: Any) -> None:
        await self._send_packet(
            eio_sid, self.packet_class(sio_packet.ACK, namespace=namespace, id=id, data=[answer])
        )

    async def _close(self, eio_sid: str, why: str) -> None:
        self._binary_packet.pop(eio_sid, None)
        await close_engineio_socket(self.eio, eio_sid, why)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self._binary_packet.pop(eio_sid, None)
        await super()._handle_eio_disconnect(eio_sid, reason)
        # engineio keeps the websocket open (or the long-poll waiting) until the ping
        # timeout (docs/upstream.md 8): end the writer, or answer the poll with CLOSE.
        socket = self.eio.sockets.get(eio_sid)
        if socket is not None:
            if not socket.upgraded:
                socket.queue.put_nowait(eio_packet.Packet(eio_packet.CLOSE))
            socket.queue.put_nowait(None)

    # --- manager and shutdown -----------------------------------------------------------

    def start_manager(self) -> None:
        """Start the client manager now (python-socketio waits for the first connection),
        so a process subscribes to Redis before it has sockets and /readyz can tell."""
        if not getattr(self, "manager_initialized", False):
            self.manager_initialized = True
            self.manager.initialize()

    async def close_all_transports(self) -> None:
        """Drop every connection at the transport level, as a restart would: clients see
        "transport close" and reconnect by themselves (a CLOSE packet would tell some of them
        that the server wants them gone)."""
        lean = self.lean.close_all() if self.lean is not None else 0
        sockets = list(self.eio.sockets.values())
        websockets = []
        for socket in sockets:
            socket.queue.put_nowait(None)  # ends the websocket writer or a long-poll
            if socket.upgraded:
                websockets.append(socket)
            else:
                await socket.close(wait=False, abort=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLOSE_ALL_TIMEOUT_SECONDS
        while any(not ws.closed for ws in websockets) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        # The lean sockets' disconnect handlers run in tasks of ours that nothing else waits
        # for: they must finish (presence records when each user was last seen) before the
        # cleanup closes the database and Redis under them.
        handlers = [task for task in self._tasks if not task.done()]
        if handlers:
            await asyncio.wait(handlers, timeout=max(0.0, deadline - loop.time()))
        still_open = sum(1 for ws in websockets if not ws.closed)
        log.info("closed %d connections (%d still open)", lean + len(sockets), still_open)


class IndexedManagerBase(socketio.AsyncManager):  # type: ignore[misc]
    """The stock manager with an index of each socket's rooms (the stock disconnect scans
    every room of the namespace: quadratic with thousands of sockets)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rooms_of: dict[tuple[str, str], set[Any]] = {}

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._rooms_of.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        rooms = self._rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.discard(room)

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        rooms = self._rooms_of.pop((namespace, sid), set())
        if namespace not in self.rooms:
            return
        for room in rooms:
            super().basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            waiting = pending.get(namespace)
            if waiting is not None and sid in waiting:
                waiting.remove(sid)
                if not waiting:
                    del pending[namespace]

    def has_namespace(self, namespace: str) -> bool:
        return namespace in self.rooms

    async def deliver(self, eio_sid: str, frame: eio_packet.Packet) -> None:
        """Hand one encoded Engine.IO frame to one connection."""
        await self.server._send_eio_packet(eio_sid, frame)


class RedisManagerBase(socketio.AsyncRedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager, its private hooks routed to named methods."""

    async def _publish(self, data: dict[str, Any]) -> None:
        await self.publish_to_processes(data)

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        async for message in self.listen_to_processes():
            yield message

    async def publish_to_processes(self, data: dict[str, Any]) -> None:
        await super()._publish(data)

    def listen_to_processes(self) -> AsyncIterator[Any]:
        return super()._redis_listen_with_retries()  # type: ignore[no-any-return]

    def redis_client(self, **options: Any) -> Any:
        """A new client of the configured Redis (redis-py or valkey, as the stock one)."""
        return self._get_redis_module().Redis.from_url(self.redis_url, **options)

    @property
    def listener_alive(self) -> bool:
        task = getattr(self, "thread", None)
        return task is not None and not task.done()

    async def stop_listening(self) -> None:
        await cancel_and_wait(getattr(self, "thread", None))


class InlineEngineIOClient(engineio.Client):  # type: ignore[misc]
    """The bench's client: each packet handled in the reading greenlet (engineio starts one
    per packet, an eighth of the generator's CPU under fanout); no handler here blocks."""

    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("run_async", None)
        return super()._trigger_event(event, *args, **kwargs)


class InlineClientMixin:
    """For a python-socketio `Client` subclass: use `InlineEngineIOClient` underneath."""

    def _engineio_client_class(self) -> type[engineio.Client]:
        return InlineEngineIOClient
