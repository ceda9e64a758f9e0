"""Group commit: one task per process writes messages and read receipts in batches.

Under load, many senders wait for the same transaction: each batch is one BEGIN, a few
statements and one COMMIT however many messages it holds. On SQLite that also means a single
writer connection, so writers never fight over the database lock. After the commit the
results go to the publisher, in commit order, and each caller gets its own result back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import IntegrityError

from chatkit.aiotools import QueueService
from chatkit.server.data.database import is_unavailable
from chatkit.server.data.store.changes import ChangeResult, DeleteMessage, EditMessage
from chatkit.server.data.store.messages import (
    MarkRead,
    MessageStore,
    NewMessage,
    Operation,
    ReadResult,
    Result,
    SendResult,
)
from chatkit.server.errors import Unavailable
from chatkit.server.metrics import Metrics
from chatkit.timefmt import utcnow

log = logging.getLogger("chatkit.writer")

MAX_BATCH = 256


class CommitListener(Protocol):
    """Told of every committed batch, in commit order (the publisher, the typing tracker)."""

    def committed(self, results: list[Result]) -> None: ...


class OnlineUsers(Protocol):
    """Who of these users has a socket open anywhere (the presence of the realtime side)."""

    async def online(self, user_ids: Collection[str]) -> set[str]: ...


@dataclass(slots=True)
class _Pending:
    operation: Operation
    future: asyncio.Future[Result]


class MessageWriter:
    def __init__(
        self,
        messages: MessageStore,
        presence: OnlineUsers,
        *,
        listeners: Sequence[CommitListener],
        notify_delay: float,
        metrics: Metrics | None = None,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._metrics = metrics
        self._messages = messages
        self._presence = presence
        self._listeners = tuple(listeners)
        self._notify_delay = notify_delay
        self._max_batch = max_batch
        self._queue: QueueService[_Pending] = QueueService(
            "chatkit-writer", self._write, log=log, max_batch=max_batch
        )

    @property
    def busy(self) -> bool:
        """More writes waiting than a few batches hold: the server is behind."""
        return self._queue.qsize() > 4 * self._max_batch

    def start(self) -> None:
        self._queue.start()

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        await self._queue.stop()

    async def send(self, message: NewMessage) -> SendResult:
        result = await self._submit(message)
        assert isinstance(result, SendResult)
        return result

    async def mark_read(self, receipt: MarkRead) -> ReadResult:
        result = await self._submit(receipt)
        assert isinstance(result, ReadResult)
        return result

    async def change(self, change: EditMessage | DeleteMessage) -> ChangeResult:
        """Edit or delete a message; raises the 403/404/409 the store decided on."""
        result = await self._submit(change)
        assert isinstance(result, ChangeResult)
        if result.error is not None:
            raise result.error
        return result

    async def _submit(self, operation: Operation) -> Result:
        if not self._queue.running:
            raise Unavailable("the message writer is not running", code="writer_stopped")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.put(_Pending(operation, future))
        # Shielded: a caller that goes away must not cancel a write others share.
        return await asyncio.shield(future)

    async def _write(self, batch: list[_Pending]) -> None:
        operations = [pending.operation for pending in batch]
        await self._decide_notifications(operations)
        started = time.perf_counter()
        try:
            results = await self._messages.apply(
                operations, now=utcnow(), notify_delay=self._notify_delay
            )
        except Exception as exc:
            if len(batch) > 1:
                # Find the culprit: every other operation still gets written.
                for pending in batch:
                    await self._write([pending])
                return
            if isinstance(exc, IntegrityError) and await self._resolve_duplicate(batch[0]):
                return
            _fail(batch[0].future, exc)
            return
        if self._metrics is not None:
            self._metrics.commit_duration.observe(time.perf_counter() - started)
            self._metrics.batch_size.observe(len(batch))
            stored = sum(1 for r in results if isinstance(r, SendResult) and r.created)
            if stored:
                self._metrics.messages_stored.inc(stored)
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)
        for listener in self._listeners:
            try:
                listener.committed(results)
            except Exception:
                log.exception("telling %r of committed writes failed; they are stored", listener)

    async def _resolve_duplicate(self, pending: _Pending) -> bool:
        """Another process stored the same clientMessageId first: answer with its message."""
        op = pending.operation
        if not isinstance(op, NewMessage) or op.client_message_id is None:
            return False
        existing = await self._messages.by_client_id(
            conversation_id=op.participants.conversation_id,
            sender_id=op.sender_id,
            client_message_id=op.client_message_id,
        )
        if existing is None:
            return False
        if not pending.future.done():
            pending.future.set_result(SendResult(existing, created=False))
        return True

    async def _decide_notifications(self, operations: list[Operation]) -> None:
        sends = [op for op in operations if isinstance(op, NewMessage)]
        if not sends:
            return
        recipients = {op.participants.other(op.sender_id) for op in sends}
        try:
            online = await self._presence.online(recipients)
        except Exception:
            # Presence unknown: assume offline, so no one misses a notification.
            log.warning("presence lookup failed; queueing notifications for all recipients")
            online = set()
        for op in sends:
            op.notify_recipient = op.participants.other(op.sender_id) not in online


def _fail(future: asyncio.Future[Result], exc: Exception) -> None:
    if future.done():
        return
    if is_unavailable(exc):
        log.warning("database unavailable for a write: %s", exc)
        future.set_exception(
            Unavailable(
                "the database is unavailable; nothing was stored, retry",
                headers={"Retry-After": "1"},
            )
        )
        return
    log.error("write failed", exc_info=exc)
    future.set_exception(exc)
