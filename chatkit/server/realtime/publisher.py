"""Pushes committed writes to their Socket.IO rooms, in commit order."""

from __future__ import annotations

import logging
from typing import Any

import socketio

from chatkit.aiotools import QueueService
from chatkit.event_names import (
    MESSAGE_DELETED,
    MESSAGE_UPDATED,
    MESSAGES_READ,
    NEW_MESSAGE,
    PRESENCE,
    USER_TYPING,
)
from chatkit.server.data.store.changes import ChangeResult
from chatkit.server.data.store.messages import Result, SendResult
from chatkit.server.data.store.records import MessageRecord
from chatkit.server.metrics import Metrics
from chatkit.server.realtime.rooms import user_room
from chatkit.server.wire import render
from chatkit.wire import (
    MessageDeleted,
    MessageUpdated,
    NewMessage,
    Presence,
    ReadReceipt,
    UserTyping,
)

log = logging.getLogger("chatkit.realtime")

NAMESPACE = "/chat"
# Above this many events waiting, the server is behind: typing indicators are dropped first.
BUSY_BACKLOG = 1000
# Events emitted per turn of the publisher's task (in order, each on its own).
EMIT_BATCH = 64

# What the publisher pushes to rooms (the token events go to one socket, from the namespace).
RoomPayload = NewMessage | UserTyping | ReadReceipt | MessageUpdated | MessageDeleted | Presence
_Event = tuple[str, RoomPayload, str, Any]


class Publisher:
    """One queue and one task, so `new_message` events of a conversation leave in `seq` order
    and a slow emit never holds up the writer or an HTTP response.

    The message writer calls `committed` after each commit (it is one of the writer's
    commit listeners); the typing tracker broadcasts through `user_typing`, presence through
    `presence`. Each event name goes with its payload (chatkit.wire.SERVER_EVENTS) here.
    """

    def __init__(self, sio: socketio.AsyncServer, metrics: Metrics) -> None:
        self._sio = sio
        self._emitted = metrics.events_emitted
        self._queue: QueueService[_Event] = QueueService(
            "chatkit-publisher", self._emit, log=log, max_batch=EMIT_BATCH
        )

    @property
    def busy(self) -> bool:
        return self._queue.qsize() > BUSY_BACKLOG

    def start(self) -> None:
        self._queue.start()

    async def stop(self) -> None:
        await self._queue.stop()

    def committed(self, results: list[Result]) -> None:
        for result in results:
            if isinstance(result, SendResult):
                if result.created:
                    message = result.message
                    self._push(NEW_MESSAGE, render.new_message(message), message.conversation_id)
            elif isinstance(result, ChangeResult):
                if result.changed and result.message is not None:
                    self._changed(result.message)
            elif result.count > 0:
                self._push(MESSAGES_READ, render.read_receipt(result), result.conversation_id)

    def _changed(self, message: MessageRecord) -> None:
        room = message.conversation_id
        if message.deleted_at is not None:
            self._push(MESSAGE_DELETED, render.message_deleted(message), room)
        else:
            self._push(MESSAGE_UPDATED, render.message_updated(message), room)

    def user_typing(self, conversation_id: str, user_id: str, is_typing: bool) -> None:
        """To the conversation, except the typer's own sockets (on every process)."""
        payload = render.user_typing(conversation_id, user_id, is_typing=is_typing)
        self._push(USER_TYPING, payload, conversation_id, skip=[user_room(user_id)])

    def presence(self, payload: Presence, user_id: str) -> None:
        """To the sockets of `user_id` (one who shares a conversation with its subject)."""
        self._push(PRESENCE, payload, user_room(user_id))

    def _push(self, event: str, payload: RoomPayload, room: str, skip: Any = None) -> None:
        self._queue.put((event, payload, room, skip))

    async def _emit(self, batch: list[_Event]) -> None:
        for event, payload, room, skip in batch:
            try:
                await self._sio.emit(event, payload, room=room, skip_sid=skip, namespace=NAMESPACE)
                self._emitted.labels(event).inc()
            except Exception:
                # DB is truth: the write is stored; clients catch up with `after`.
                log.exception("emitting %s to %s failed", event, room)
