"""RealtimeClient: the `/chat` Socket.IO namespace, kept connected, with catch-up.

One supervisor task owns the connection: it connects (a fresh python-socketio client per
attempt), waits for the connection to drop, and retries with backoff. Socket.IO handlers only
enqueue; one dispatcher task delivers everything in arrival order. After each connect the
dispatcher first fetches, with the `after` cursor, every message (and edit) of the tracked
conversations it has not delivered yet, while live events wait behind it in the queue;
messages are then delivered at most once per id (ids sort in send order): none is missed.
If that catch-up fails (the server answers 5xx, or not at all), the connection is dropped and
retried with backoff, and live messages are not delivered meanwhile: a newer live message
must never move a cursor past one that was missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import socketio

from chatkit import event_names, wire
from chatkit.aiotools import cancel_and_wait
from chatkit.client.api import ApiClient
from chatkit.client.catchup import Cursors
from chatkit.client.errors import ClientError, EventError, NotConnected
from chatkit.client.events import (
    CATCHING_UP,
    PLAIN_EVENTS,
    ChangeEvent,
    ConnectionEvent,
    ConnectionState,
    ConnectionStatus,
    EventStream,
    NewMessageEvent,
    parse_change,
    parse_new_message,
)
from chatkit.client.fanout import Callback, E, Fanout
from chatkit.client.models import ProtocolError, check
from chatkit.client.reconnect import Backoff, wait_to_retry

log = logging.getLogger("chatkit.client")

NAMESPACE = "/chat"
UNREACHABLE = "server unreachable"


class RealtimeClient:
    def __init__(
        self,
        api: ApiClient,
        *,
        transports: Sequence[str] = ("websocket",),
        backoff: Backoff | None = None,
        offline_after: float = 10.0,
        connect_timeout: float = 5.0,
        ack_timeout: float = 5.0,
        catch_up_page: int = 100,
        catch_up_max_pages: int = 50,
        follow_new_conversations: bool = False,
        probe_interval: float = 0.5,
    ) -> None:
        """`follow_new_conversations`: after each connect, also catch up the conversations
        the caller has not tracked (created while away), from their first message.
        `probe_interval`: while the server is unreachable, how often to ask `GET /healthz`
        whether it is back; an answer retries at once instead of after the backoff."""
        self.api = api
        self._transports = list(transports)
        self._backoff = backoff if backoff is not None else Backoff()
        self._offline_after = offline_after
        self._connect_timeout = connect_timeout
        self._probe_interval = probe_interval
        self._ack_timeout = ack_timeout
        self._cursors = Cursors(
            api,
            page=catch_up_page,
            max_pages=catch_up_max_pages,
            follow_new=follow_new_conversations,
        )
        self._status = ConnectionStatus(ConnectionState.OFFLINE, "not started", retrying=False)
        self._sio: socketio.AsyncClient | None = None
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._fanout = Fanout()
        self._joined: set[str] = set()
        self._left: set[str] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._dropped = asyncio.Event()
        self._kick = asyncio.Event()
        self._connected = asyncio.Event()
        self._closing = False
        self._live = False  # caught up since the last connect: live messages may be delivered
        self._behind: socketio.AsyncClient | None = None  # a connection whose catch-up failed

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def status(self) -> ConnectionStatus:
        return self._status

    @property
    def connected(self) -> bool:
        return self._status.state is ConnectionState.CONNECTED

    def start(self) -> None:
        """Begin connecting in the background; state changes are delivered as events."""
        if self._supervisor is None:
            self._closing = False
            self._dispatcher = asyncio.create_task(self._dispatch(), name="chatkit-dispatch")
            self._supervisor = asyncio.create_task(self._supervise(), name="chatkit-connect")

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait for the next moment the socket is connected (and caught up)."""
        await asyncio.wait_for(self._connected.wait(), timeout)

    def reconnect_now(self) -> None:
        """Skip the backoff wait (or retry after a refusal) right away."""
        self._kick.set()

    async def close(self) -> None:
        self._closing = True
        self._kick.set()
        self._dropped.set()
        if self._sio is not None:
            await self._disconnect(self._sio)
        for task in (self._supervisor, self._dispatcher):
            await cancel_and_wait(task)
        self._supervisor = self._dispatcher = None
        self._status = ConnectionStatus(ConnectionState.OFFLINE, "closed", retrying=False)
        self._fanout.deliver(ConnectionEvent(self._status))

    async def __aenter__(self) -> RealtimeClient:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- subscriptions ---------------------------------------------------------------------

    def on(self, kind: type[E], callback: Callback[E]) -> Callable[[], None]:
        """Call `callback` for each delivered event of type `kind`; returns an unsubscriber."""
        return self._fanout.on(kind, callback)

    def subscribe(self) -> EventStream:
        """An async iterator of every event delivered from now on."""
        return self._fanout.subscribe()

    def track(self, conversation_id: str, last_message_id: str | None) -> None:
        """Catch this conversation up after each connect, from `last_message_id` (the newest
        message the caller already has; None when it has none: then all of it is new)."""
        self._cursors.track(conversation_id, last_message_id)

    def untrack(self, conversation_id: str) -> None:
        self._cursors.untrack(conversation_id)

    def cursor(self, conversation_id: str) -> str | None:
        return self._cursors.cursor(conversation_id)

    # --- client → server events (acknowledged) ---------------------------------------------

    async def join(self, conversation_id: str) -> None:
        await self._call("join_conversation", {"conversationId": conversation_id})
        self._joined.add(conversation_id)
        self._left.discard(conversation_id)

    async def leave(self, conversation_id: str) -> None:
        await self._call("leave_conversation", {"conversationId": conversation_id})
        self._left.add(conversation_id)
        self._joined.discard(conversation_id)

    async def typing(self, conversation_id: str, is_typing: bool) -> None:
        await self._call("typing", {"conversationId": conversation_id, "isTyping": is_typing})

    async def mark_read(self, conversation_id: str) -> None:
        await self._call("mark_read", {"conversationId": conversation_id})

    async def _call(self, event: str, payload: dict[str, Any]) -> None:
        client = self._sio
        # The namespace is connected (and usable) before `client.connected` turns true.
        if client is None or NAMESPACE not in client.namespaces:
            raise NotConnected(f"cannot send {event}: {self._status.describe()}")
        try:
            reply = await client.call(
                event, payload, namespace=NAMESPACE, timeout=self._ack_timeout
            )
        except socketio.exceptions.TimeoutError:
            raise NotConnected(f"{event} was not acknowledged in {self._ack_timeout:g}s") from None
        except socketio.exceptions.SocketIOError as exc:
            raise NotConnected(f"cannot send {event}: {exc}") from None
        if isinstance(reply, dict) and reply.get("ok") is True:
            return
        try:
            error = check(wire.AckError, reply)["error"]
        except ProtocolError:
            raise EventError("bad_ack", f"{event} was answered with {reply!r}") from None
        raise EventError(error["code"], error["message"])

    # --- connection supervision ------------------------------------------------------------

    async def _supervise(self) -> None:
        attempt = 0
        ever_connected = False
        loop = asyncio.get_running_loop()
        down_since = loop.time()
        while not self._closing:
            if attempt == 0:
                state = (
                    ConnectionState.RECONNECTING if ever_connected else ConnectionState.CONNECTING
                )
                self._update(ConnectionStatus(state, "connecting to " + self.api.base_url))
            client, refusal, reason = await self._connect_once()
            if client is not None:
                ever_connected = True
                await self._dropped.wait()
                down_since = loop.time()
                if self._closing:
                    return
                if self._behind is not client:
                    attempt = 0
                    continue
                # Connected, but could not catch up: retry with backoff, not in a tight loop.
                refusal, reason = None, "catching up failed"
            attempt += 1
            retry = refusal is None or callable(self.api.token)
            delay = self._backoff.delay(attempt)
            if not retry:
                self._update(
                    ConnectionStatus(ConnectionState.OFFLINE, f"refused: {reason}", attempt, False)
                )
            else:
                # A blip reads "reconnecting"; down for a while, "offline" (still retrying).
                state = (
                    ConnectionState.OFFLINE
                    if loop.time() - down_since >= self._offline_after
                    else ConnectionState.RECONNECTING
                )
                retry_at = time.monotonic() + delay
                self._update(ConnectionStatus(state, reason, attempt, retry_at=retry_at))
            self._kick.clear()
            # When the server could not be reached at all, its return is noticed at once.
            answering = self.api.answers if retry and reason == UNREACHABLE else None
            await wait_to_retry(
                self._kick, delay if retry else None, answering, self._probe_interval
            )

    async def _connect_once(self) -> tuple[socketio.AsyncClient | None, Any, str]:
        """One attempt: the connected client, or None with the refusal payload and why."""
        # handle_sigint=False: Ctrl-C belongs to the application (python-socketio's own handler
        # would disconnect and cancel every task of the loop behind its back).
        client = socketio.AsyncClient(
            reconnection=False, logger=False, engineio_logger=False, handle_sigint=False
        )
        errors: list[Any] = []
        self._dropped.clear()
        self._connected.clear()

        async def on_connect() -> None:
            self._queue.put_nowait(("connected", client))

        async def on_disconnect(reason: Any = None) -> None:
            if self._sio is client:
                self._queue.put_nowait(("disconnected", str(reason or "")))
                self._dropped.set()

        async def on_connect_error(data: Any = None) -> None:
            errors.append(data)

        def relay(event: str) -> Callable[[Any], Awaitable[None]]:
            async def handler(payload: Any = None) -> None:
                # Enqueue before any await, so events keep the order they arrived in.
                self._queue.put_nowait((event, payload))

            return handler

        client.on("connect", on_connect, namespace=NAMESPACE)
        client.on("disconnect", on_disconnect, namespace=NAMESPACE)
        client.on("connect_error", on_connect_error, namespace=NAMESPACE)
        for event in event_names.SERVER_EVENTS:
            client.on(event, relay(event), namespace=NAMESPACE)
        self._sio = client
        try:
            await client.connect(
                self.api.base_url,
                auth=lambda: {"token": self.api.bearer()},
                namespaces=[NAMESPACE],
                transports=self._transports,
                wait_timeout=self._connect_timeout,
            )
        except (socketio.exceptions.ConnectionError, ValueError, OSError) as exc:
            self._sio = None
            await self._disconnect(client)
            refusal = next((e for e in errors if isinstance(e, dict)), None)
            if refusal is not None:
                data = refusal.get("data")
                why = data.get("reason") if isinstance(data, dict) else None
                return None, refusal, f"{refusal.get('message', 'refused')} ({why or exc})"
            log.debug("connecting failed: %s", _describe(errors, exc))
            return None, None, UNREACHABLE
        return client, None, ""

    async def _disconnect(self, client: socketio.AsyncClient) -> None:
        try:
            await client.disconnect()
        except Exception:  # a half-open client may fail to say goodbye; it is dropped anyway
            log.debug("disconnect failed", exc_info=True)

    # --- delivery --------------------------------------------------------------------------

    async def _dispatch(self) -> None:
        while True:
            kind, payload = await self._queue.get()
            try:
                await self._handle(kind, payload)
            except ProtocolError as exc:
                log.warning("ignored a malformed %s event: %s", kind, exc)
            except Exception:
                log.exception("delivering %s failed", kind)

    async def _handle(self, kind: str, payload: Any) -> None:
        if kind == "connected":
            if payload is not self._sio:
                return  # a connection that has already been replaced
            self._live = False
            self._update_now(ConnectionStatus(ConnectionState.CONNECTED, CATCHING_UP))
            if not await self._after_connect(payload):
                self._behind = payload
                await self._disconnect(payload)
                return
            self._live = True
            self._update_now(ConnectionStatus(ConnectionState.CONNECTED))
            self._connected.set()
        elif kind == "disconnected":
            self._live = False
            self._connected.clear()
            if not self._closing:
                detail = f"connection lost ({payload})" if payload else "connection lost"
                self._update_now(ConnectionStatus(ConnectionState.RECONNECTING, detail))
        elif kind == "status":
            self._fanout.deliver(ConnectionEvent(payload))
        elif kind == event_names.NEW_MESSAGE:
            event = parse_new_message(payload)
            # Not live: the next catch-up fetches it, in order. Delivered before: skipped.
            if self._live and self._cursors.advance(event.message):
                self._fanout.deliver(event)
        elif kind in PLAIN_EVENTS:
            self._fanout.deliver(PLAIN_EVENTS[kind](payload))
        elif kind in (event_names.MESSAGE_UPDATED, event_names.MESSAGE_DELETED):
            change = parse_change(kind, payload)
            if self._live and self._cursors.fresh(change):  # else the next catch-up has it
                self._fanout.deliver(change)
        elif kind in (event_names.TOKEN_EXPIRED, event_names.TOKEN_REVOKED):
            notice = check(wire.Disconnecting, payload)
            log.info("the server will disconnect: %s", notice["message"])
        await self._fanout.drain()

    async def _after_connect(self, client: socketio.AsyncClient) -> bool:
        """Re-apply explicit joins/leaves, then fetch what was missed while away; False when
        that could not be done now."""
        for conversation_id in sorted(self._joined):
            await self._quietly(self.join(conversation_id))
        for conversation_id in sorted(self._left):
            await self._quietly(self.leave(conversation_id))
        return await self._cursors.catch_up(self._deliver_caught_up)

    async def _deliver_caught_up(self, event: NewMessageEvent | ChangeEvent) -> None:
        self._fanout.deliver(event)
        await self._fanout.drain()

    async def _quietly(self, call: Awaitable[None]) -> None:
        try:
            await call
        except ClientError as exc:
            log.info("re-applying a room change failed: %s", exc)

    def _update(self, status: ConnectionStatus) -> None:
        """From the supervisor: the state is current now, the event keeps queue order."""
        self._status = status
        self._queue.put_nowait(("status", status))

    def _update_now(self, status: ConnectionStatus) -> None:
        self._status = status
        self._fanout.deliver(ConnectionEvent(status))


def _describe(errors: list[Any], exc: BaseException) -> str:
    for error in errors:
        if isinstance(error, str) and error:
            return error.lower().rstrip(".")
    return str(exc).lower().rstrip(".") or "cannot connect"
