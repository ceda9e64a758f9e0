"""Small asyncio helpers shared by the server, the notifier and the client."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


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
