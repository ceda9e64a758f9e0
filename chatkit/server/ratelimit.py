"""Rate limits (per process): messages per user, socket events per connection.

The `limits` library keeps a moving window per key in memory. Limits are per process: with
N workers a user can reach N times the rate at most, which is what the limits are for —
stopping floods, not metering.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from chatkit.config import Settings
from chatkit.server.errors import RateLimited


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._messages: RateLimitItem | None = (
            parse(settings.message_rate) if settings.message_rate else None
        )
        self._events: RateLimitItem | None = (
            parse(settings.event_rate) if settings.event_rate else None
        )

    async def message(self, user_id: str) -> None:
        """Count one message of `user_id`; raises RateLimited (429) past the limit."""
        if self._messages is not None and not await self._limiter.hit(
            self._messages, "message", user_id
        ):
            raise RateLimited(
                f"too many messages; the limit is {self._messages}",
                retry_after=await self._retry_after(self._messages, "message", user_id),
            )

    async def event(self, sid: str) -> None:
        """Count one socket event of connection `sid`; raises RateLimited past the limit."""
        if self._events is not None and not await self._limiter.hit(self._events, "event", sid):
            raise RateLimited(
                f"too many events on this connection; the limit is {self._events}",
                retry_after=await self._retry_after(self._events, "event", sid),
            )

    async def forget(self, sid: str) -> None:
        if self._events is not None:
            await self._limiter.clear(self._events, "event", sid)

    async def _retry_after(self, item: RateLimitItem, *identifiers: str) -> float:
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return max(0.0, stats.reset_time - time.time())
