"""A real chatkit server in a background thread with its own event loop, for tests whose body
cannot share the server's loop (pytest-textual-snapshot runs the app with its own loop)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from chatkit.config import Settings
from tests.support.server import RunningServer, running_server

START_TIMEOUT = 10.0


@contextmanager
def threaded_server(settings: Settings) -> Iterator[RunningServer]:
    started = threading.Event()
    found: list[RunningServer] = []
    errors: list[BaseException] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        try:
            async with running_server(settings) as server:
                found.append(server)
                started.set()
                await stop.wait()
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)
            started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve())
        # Background tasks of closed connections (engineio's pings) end with the loop.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not started.wait(START_TIMEOUT) or errors:
        raise RuntimeError(f"the server did not start: {errors[:1]}")
    try:
        yield found[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(START_TIMEOUT)
        loop.close()
