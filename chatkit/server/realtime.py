"""The `/chat` Socket.IO namespace, and the publisher that pushes committed writes to rooms."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio

from chatkit.ids import parse_uuid
from chatkit.server import render
from chatkit.server.auth import Authenticator, handshake_token
from chatkit.server.errors import ChatkitError, NotFound
from chatkit.server.metrics import Metrics
from chatkit.server.presence import Presence
from chatkit.server.rooms import JOIN_ROOM_EVENT, user_room
from chatkit.server.schemas import Body, ConversationRef, TypingIn, validate
from chatkit.server.store import Store
from chatkit.server.store.messages import MarkRead, ReadResult, Result, SendResult
from chatkit.server.store.records import Participants
from chatkit.server.writer import MessageWriter
from chatkit.tokens import TokenError

log = logging.getLogger("chatkit.realtime")

NAMESPACE = "/chat"
OK: dict[str, Any] = {"ok": True}


def error_ack(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


class Publisher:
    """Emits committed writes to their rooms, one at a time, in commit order.

    One queue and one task, so `new_message` events of a conversation leave in `seq` order
    and a slow emit never holds up the writer or an HTTP response.
    """

    def __init__(self, sio: socketio.AsyncServer, metrics: Metrics) -> None:
        self._sio = sio
        self._emitted = metrics.events_emitted
        self._queue: asyncio.Queue[tuple[str, dict[str, Any], str]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="chatkit-publisher")

    async def stop(self) -> None:
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None

    def committed(self, results: list[Result]) -> None:
        for result in results:
            if isinstance(result, SendResult):
                if result.created:
                    message = render.message(result.message)
                    self.push(
                        "new_message",
                        {"conversationId": result.message.conversation_id, "message": message},
                        result.message.conversation_id,
                    )
            elif result.count > 0:
                self.push("messages_read", render.read_receipt(result), result.conversation_id)

    def push(self, event: str, payload: dict[str, Any], room: str) -> None:
        self._queue.put_nowait((event, payload, room))

    async def _run(self) -> None:
        while True:
            event, payload, room = await self._queue.get()
            try:
                await self._sio.emit(event, payload, room=room, namespace=NAMESPACE)
                self._emitted.labels(event).inc()
            except Exception:
                # DB is truth: the write is stored; clients catch up with `after`.
                log.exception("emitting %s to %s failed", event, room)
            finally:
                self._queue.task_done()


@dataclass(slots=True)
class SocketState:
    user_id: str
    expires_at: float
    expiry: asyncio.TimerHandle | None = None
    rooms: set[str] = field(default_factory=set)


Handler = Callable[[str, SocketState, Any], Awaitable[dict[str, Any]]]


class ChatNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Handlers stay thin: validate the payload, check membership, call the store or writer."""

    def __init__(
        self,
        *,
        store: Store,
        authenticator: Authenticator,
        presence: Presence,
        writer: MessageWriter,
        publisher: Publisher,
        metrics: Metrics,
    ) -> None:
        super().__init__(NAMESPACE)
        self._metrics = metrics
        self._store = store
        self._auth = authenticator
        self._presence = presence
        self._writer = writer
        self._publisher = publisher
        self._sockets: dict[str, SocketState] = {}
        self._events: dict[str, Handler] = {
            "join_conversation": self._join,
            "leave_conversation": self._leave,
            "typing": self._typing,
            "mark_read": self._mark_read,
        }

    @property
    def connected_sockets(self) -> int:
        return len(self._sockets)

    # --- connection lifecycle ---------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            claims = await self._auth.authenticate(handshake_token(auth, environ))
        except TokenError as error:
            raise socketio.exceptions.ConnectionRefusedError(
                "unauthorized", {"code": error.code, "reason": error.message}
            ) from None
        conversation_ids = await self._store.conversations.ids_for_user(claims.user_id)
        state = SocketState(user_id=claims.user_id, expires_at=claims.expires_at)
        self._sockets[sid] = state
        await self.enter_room(sid, user_room(claims.user_id))
        for conversation_id in conversation_ids:
            await self.enter_room(sid, conversation_id)
        await self._presence.connected(claims.user_id, sid)
        self._metrics.connected_sockets.inc()
        loop = asyncio.get_running_loop()
        delay = max(0.0, claims.expires_at - time.time())
        state.expiry = loop.call_later(delay, self._expire, sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        state = self._sockets.pop(sid, None)
        if state is None:
            return
        if state.expiry is not None:
            state.expiry.cancel()
        self._metrics.connected_sockets.dec()
        await self._presence.disconnected(state.user_id, sid)

    def _expire(self, sid: str) -> None:
        if sid in self._sockets:
            asyncio.create_task(self._disconnect_expired(sid))

    async def _disconnect_expired(self, sid: str) -> None:
        await self.emit(
            "token_expired",
            {"code": "token_expired", "message": "your token expired; reconnect with a new one"},
            to=sid,
        )
        await self.disconnect(sid)

    # --- events -------------------------------------------------------------------------------

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Route events ourselves so that no payload, however wrong, can raise out of here."""
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        handler = self._events.get(event)
        if handler is None or not args:
            return None
        sid, payload = args[0], (args[1] if len(args) > 1 else None)
        state = self._sockets.get(sid)
        if state is None:
            return error_ack("unauthorized", "this socket is not authenticated")
        try:
            return await handler(sid, state, payload)
        except ChatkitError as error:
            return error_ack(error.code, error.message)
        except Exception:
            log.exception("socket event %s failed", event)
            return error_ack("internal_error", "the server failed; it was logged")

    async def _participants(self, state: SocketState, raw_id: str) -> Participants:
        conversation_id = parse_uuid(raw_id)
        if conversation_id is None:
            raise NotFound("no such conversation", code="conversation_not_found")
        return await self._store.conversations.require_participant(
            conversation_id=conversation_id, user_id=state.user_id
        )

    async def _join(self, sid: str, state: SocketState, payload: Any) -> dict[str, Any]:
        ref = _payload(ConversationRef, payload)
        participants = await self._participants(state, ref.conversation_id)
        await self.enter_room(sid, participants.conversation_id)
        return OK

    async def _leave(self, sid: str, state: SocketState, payload: Any) -> dict[str, Any]:
        ref = _payload(ConversationRef, payload)
        conversation_id = parse_uuid(ref.conversation_id)
        if conversation_id is not None:
            await self.leave_room(sid, conversation_id)
        return OK

    async def _typing(self, sid: str, state: SocketState, payload: Any) -> dict[str, Any]:
        typing = _payload(TypingIn, payload)
        participants = await self._participants(state, typing.conversation_id)
        await self.emit(
            "user_typing",
            {
                "conversationId": participants.conversation_id,
                "userId": state.user_id,
                "isTyping": typing.is_typing,
            },
            room=participants.conversation_id,
            skip_sid=[user_room(state.user_id)],
        )
        self._metrics.events_emitted.labels("user_typing").inc()
        return OK

    async def _mark_read(self, sid: str, state: SocketState, payload: Any) -> dict[str, Any]:
        ref = _payload(ConversationRef, payload)
        participants = await self._participants(state, ref.conversation_id)
        result: ReadResult = await self._writer.mark_read(MarkRead(participants, state.user_id))
        del result  # the publisher emits messages_read once the receipt is committed
        return OK

    # --- used by the REST side ----------------------------------------------------------------

    async def join_participants(self, participants: Participants) -> None:
        """Put every connected socket of both participants into the conversation's room."""
        for user_id in participants.user_ids:
            await self.server.emit(
                JOIN_ROOM_EVENT,
                {"room": participants.conversation_id},
                room=user_room(user_id),
                namespace=NAMESPACE,
            )


def _payload(model: type[Body], payload: Any) -> Any:
    try:
        return validate(model, payload)
    except ChatkitError as error:
        raise ChatkitError(error.message, code="invalid_payload") from None
