"""How long to wait before reconnecting: backoff with jitter, cut short by a kick (Ctrl+O)
or by the server answering HTTP again."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from chatkit.aiotools import cancel_and_wait


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before reconnect attempt n (1-based): first * factor**(n-1), capped, ± jitter."""

    first: float = 0.5
    # Short: the probe (see RealtimeClient) notices a server that returns within a second
    # anyway; the cap bounds the wait when the probe cannot tell (a refusal, catch-up failed).
    maximum: float = 5.0
    factor: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.first * self.factor ** max(0, attempt - 1))
        return base * (1 + self.jitter * (2 * random.random() - 1))


async def wait_to_retry(
    kick: asyncio.Event,
    delay: float | None,
    answering: Callable[[], Awaitable[bool]] | None,
    interval: float,
) -> None:
    """Until `delay` passes (None: no limit), `kick` is set, or `answering()` turns true
    (asked every `interval` seconds)."""
    waits: list[asyncio.Task[Any]] = [asyncio.create_task(kick.wait())]
    if answering is not None:
        waits.append(asyncio.create_task(_until(answering, interval)))
    try:
        await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            await cancel_and_wait(task)


async def _until(answering: Callable[[], Awaitable[bool]], interval: float) -> None:
    while not await answering():
        # Polling is the only way to learn that a server which was not there came back.
        await asyncio.sleep(interval)
