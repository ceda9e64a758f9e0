"""Small asyncio helpers shared by the server, the notifier and the client.

`BackgroundTask` and `QueueService` are the one shape of every background service of the
server: the publisher, the message writer and the Redis sender are a queue drained in order
by one task (`QueueService`); the notify worker and the revocation sweeper are a loop in one
task (`BackgroundTask`). Each is started and stopped by its own cleanup context in app.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait until it has really stopped.

    Whatever the task raises on its way out is its own business: we are stopping it.
    """
    if task is None or task.done():
        if task is not None and not task.cancelled():
            task.exception()  # retrieve it, so asyncio does not warn about it
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


class BackgroundTask:
    """One named task running `run()`: `start()` creates it unless it runs, `stop()` ends it."""

    def __init__(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.name = name
        self._run = run
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self, *, grace: float = 0.0) -> None:
        """Cancel the task; with a `grace`, first give it that long to finish by itself
        (the caller has told it to stop by its own means)."""
        task, self._task = self._task, None
        if task is None:
            return
        if grace > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), grace)
        await cancel_and_wait(task)


class QueueService(Generic[T]):
    """A queue drained in order by one task, up to `max_batch` items at a time.

    `handle` gets each batch; whatever it raises is logged and the service carries on, so
    one bad batch never stops the service. `stop()` first waits for what is queued.
    """

    def __init__(
        self,
        name: str,
        handle: Callable[[list[T]], Awaitable[None]],
        *,
        log: logging.Logger,
        max_batch: int = 1,
    ) -> None:
        self._handle = handle
        self._log = log
        self._max_batch = max_batch
        self._queue: asyncio.Queue[T] = asyncio.Queue()
        self._task = BackgroundTask(name, self._drain_forever)

    @property
    def running(self) -> bool:
        return self._task.running

    def qsize(self) -> int:
        return self._queue.qsize()

    def put(self, item: T) -> None:
        self._queue.put_nowait(item)

    def start(self) -> None:
        self._task.start()

    async def stop(self, *, drain: bool = True) -> None:
        """Finish what is queued (unless `drain` is false), then stop."""
        if drain and self._task.running:
            await self._queue.join()
        await self._task.stop()

    async def _drain_forever(self) -> None:
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < self._max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await self._handle(batch)
            except Exception:  # the loop must survive anything one batch does
                self._log.exception("%s failed on a batch of %d", self._task.name, len(batch))
            finally:
                for _ in batch:
                    queue.task_done()
