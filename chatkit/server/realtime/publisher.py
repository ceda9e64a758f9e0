"""Pushes committed writes to their Socket.IO rooms, in commit order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import socketio

from chatkit.aiotools import cancel_and_wait
from chatkit.server.data.store.changes import ChangeResult
from chatkit.server.data.store.messages import Result, SendResult
from chatkit.server.data.store.records import MessageRecord
from chatkit.server.metrics import Metrics
from chatkit.server.wire import render
from chatkit.timefmt import iso

log = logging.getLogger("chatkit.realtime")

NAMESPACE = "/chat"
# Above this many events waiting, the server is behind: typing indicators are dropped first.
BUSY_BACKLOG = 1000


class Publisher:
    """One queue and one task, so `new_message` events of a conversation leave in `seq` order
    and a slow emit never holds up the writer or an HTTP response."""

    def __init__(self, sio: socketio.AsyncServer, metrics: Metrics) -> None:
        self._sio = sio
        self._emitted = metrics.events_emitted
        self._queue: asyncio.Queue[tuple[str, dict[str, Any], str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        # Called with (conversation_id, sender_id) for each stored message (typing clears).
        self.on_message: Callable[[str, str], None] | None = None

    @property
    def busy(self) -> bool:
        return self._queue.qsize() > BUSY_BACKLOG

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="chatkit-publisher")

    async def stop(self) -> None:
        if self._task is None:
            return
        await self._queue.join()
        await cancel_and_wait(self._task)
        self._task = None

    def committed(self, results: list[Result]) -> None:
        for result in results:
            if isinstance(result, SendResult):
                if result.created:
                    message = result.message
                    self.push(
                        "new_message",
                        {
                            "conversationId": message.conversation_id,
                            "message": render.message(message),
                        },
                        message.conversation_id,
                    )
                    if self.on_message is not None:
                        self.on_message(message.conversation_id, message.sender_id)
            elif isinstance(result, ChangeResult):
                if result.changed and result.message is not None:
                    self._changed(result.message)
            elif result.count > 0:
                self.push("messages_read", render.read_receipt(result), result.conversation_id)

    def _changed(self, message: MessageRecord) -> None:
        room = message.conversation_id
        if message.deleted_at is not None:
            payload: dict[str, Any] = {
                "conversationId": room,
                "messageId": message.id,
                "deletedAt": iso(message.deleted_at),
            }
            self.push("message_deleted", payload, room)
        else:
            self.push(
                "message_updated",
                {"conversationId": room, "message": render.message(message)},
                room,
            )

    def push(self, event: str, payload: dict[str, Any], room: str, skip: Any = None) -> None:
        self._queue.put_nowait((event, payload, room, skip))

    async def _run(self) -> None:
        while True:
            event, payload, room, skip = await self._queue.get()
            try:
                await self._sio.emit(event, payload, room=room, skip_sid=skip, namespace=NAMESPACE)
                self._emitted.labels(event).inc()
            except Exception:
                # DB is truth: the write is stored; clients catch up with `after`.
                log.exception("emitting %s to %s failed", event, room)
            finally:
                self._queue.task_done()
