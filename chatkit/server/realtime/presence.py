"""Who is connected. In one process a set of sockets per user; several processes share it in
Redis.

Two views of it: `online` is "has a socket right now" (whether to queue an email), while
`shown_online` is what users were told through `presence` events: it turns true with the first
socket and false only once the last one closed and a grace period passed without a new one
(see chatkit.server.realtime.presence_events), so a reconnect never flaps.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from chatkit.aiotools import cancel_and_wait

log = logging.getLogger("chatkit.presence")


class Presence(Protocol):
    def start(self) -> None: ...

    async def connected(self, user_id: str, sid: str) -> bool:
        """Count a socket; True when the user was not shown online (tell their partners)."""
        ...

    async def disconnected(self, user_id: str, sid: str, *, grace: float) -> bool:
        """Forget a socket; True when it was the user's last one anywhere: call `settle` once
        `grace` seconds have passed."""
        ...

    async def settle(self, user_id: str) -> datetime | None:
        """When the user is still without sockets, show them offline and answer when their
        last socket closed (tell their partners); None otherwise, or when another process
        already did."""
        ...

    async def expired(self) -> list[tuple[str, datetime]]:
        """Users shown online whose sockets all went away without settling (their process
        died): now shown offline, with when they were last seen."""
        ...

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        """The subset of `user_ids` with at least one connected socket anywhere."""
        ...

    async def shown_online(self, user_ids: Iterable[str]) -> set[str]:
        """The subset of `user_ids` whose partners were last told they are online."""
        ...

    async def close(self) -> None: ...


class LocalPresence:
    """Presence for a single process: the sockets connected to it are all there is."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[str]] = {}
        self._shown: set[str] = set()
        self._closed_at: dict[str, datetime] = {}

    def start(self) -> None:
        pass

    async def connected(self, user_id: str, sid: str) -> bool:
        self._sockets.setdefault(user_id, set()).add(sid)
        if user_id in self._shown:
            return False
        self._shown.add(user_id)
        return True

    async def disconnected(self, user_id: str, sid: str, *, grace: float) -> bool:
        if not _was_last_socket(self._sockets, user_id, sid):
            return False
        self._closed_at[user_id] = datetime.now(UTC)
        return True

    async def settle(self, user_id: str) -> datetime | None:
        if user_id in self._sockets or user_id not in self._shown:
            return None
        self._shown.discard(user_id)
        return self._closed_at.pop(user_id, None) or datetime.now(UTC)

    async def expired(self) -> list[tuple[str, datetime]]:
        return []

    def handover(self) -> dict[str, datetime]:
        """Who is shown online, each with when they were last seen (now when still
        connected): what the process that starts after this one needs to know."""
        now = datetime.now(UTC)
        return {
            user_id: now if user_id in self._sockets else self._closed_at.get(user_id, now)
            for user_id in self._shown
        }

    def adopt(self, last_seen: dict[str, datetime]) -> None:
        """Show these users online without sockets, as a stopped process left them: they go
        offline, as last seen then, when `settle` finds them still without a socket."""
        for user_id, seen in last_seen.items():
            self._shown.add(user_id)
            self._closed_at.setdefault(user_id, seen)

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        return {user_id for user_id in user_ids if user_id in self._sockets}

    async def shown_online(self, user_ids: Iterable[str]) -> set[str]:
        return {user_id for user_id in user_ids if user_id in self._shown}

    async def close(self) -> None:
        self._sockets.clear()


# KEYS: sockets, shown, watch. ARGV: process, until, now, user, key ttl.
_CONNECT = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[3], 'GT', ARGV[2], ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[2], '1')
return 1
"""
# KEYS: sockets, closed, watch. ARGV: process, now, check at, user.
_DISCONNECT = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', 86400)
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""
# KEYS: sockets, shown, closed, watch. ARGV: now, user, ttl. Only one caller wins.
_SETTLE = """
if redis.call('ZCOUNT', KEYS[1], ARGV[1], '+inf') > 0 then return false end
local watched = redis.call('ZSCORE', KEYS[4], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
if redis.call('DEL', KEYS[2]) == 0 then return false end
local closed = redis.call('GET', KEYS[3])
redis.call('DEL', KEYS[3])
if closed then return closed end
if watched then return tostring(tonumber(watched) - tonumber(ARGV[3])) end
return ARGV[1]
"""


class RedisPresence:
    """Presence shared by every process through Redis, surviving crashes by expiry.

    Per user: a sorted set `chatkit:presence:<user>` whose members are process ids and whose
    scores are "online until" timestamps, refreshed every ttl/3 seconds while the process has
    sockets of that user; `…:shown:<user>` while partners were told "online"; `…:closed:<user>`
    when the last socket closed. `chatkit:presence-watch` scores each user with when to check
    them: any process settles users found there past their time, so a crashed process's users
    go offline within `ttl` even though it never said goodbye. The scripts make each
    transition happen once, whichever process gets there first.
    """

    PREFIX = "chatkit:presence:"
    WATCH = "chatkit:presence-watch"

    def __init__(self, url: str, *, ttl: float = 30.0) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._ttl = ttl
        # This process's sockets per user (what `shown` means is kept in Redis).
        self._sockets: dict[str, set[str]] = {}
        self._process = uuid.uuid4().hex
        self._refresher: asyncio.Task[None] | None = None
        self._connect = self._redis.register_script(_CONNECT)
        self._disconnect = self._redis.register_script(_DISCONNECT)
        self._settle = self._redis.register_script(_SETTLE)

    def start(self) -> None:
        if self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh_forever(), name="chatkit-presence")

    def _keys(self, user_id: str) -> tuple[str, str, str]:
        return (
            self.PREFIX + user_id,
            f"{self.PREFIX}shown:{user_id}",
            f"{self.PREFIX}closed:{user_id}",
        )

    async def connected(self, user_id: str, sid: str) -> bool:
        sids = self._sockets.setdefault(user_id, set())
        first = not sids
        sids.add(sid)
        if not first:
            return False
        sockets, shown, _ = self._keys(user_id)
        now = time.time()
        args: list[str | float] = [
            self._process,
            now + self._ttl,
            now,
            user_id,
            int(self._ttl * 2) + 1,
        ]
        try:
            return bool(await self._connect(keys=[sockets, shown, self.WATCH], args=args))
        except Exception as exc:  # presence is advisory: never fail a connection over it
            log.warning("presence update failed: %s", exc)
            return False

    async def disconnected(self, user_id: str, sid: str, *, grace: float) -> bool:
        if not _was_last_socket(self._sockets, user_id, sid):
            return False
        return await self._gone(user_id, grace)

    async def _gone(self, user_id: str, grace: float) -> bool:
        sockets, _, closed = self._keys(user_id)
        now = time.time()
        try:
            return bool(
                await self._disconnect(
                    keys=[sockets, closed, self.WATCH],
                    args=[self._process, now, now + grace, user_id],
                )
            )
        except Exception as exc:
            log.warning("presence update failed: %s", exc)
            return False

    async def settle(self, user_id: str) -> datetime | None:
        sockets, shown, closed = self._keys(user_id)
        raw = await self._settle(
            keys=[sockets, shown, closed, self.WATCH], args=[time.time(), user_id, self._ttl]
        )
        if raw is None:
            return None
        return datetime.fromtimestamp(float(raw), UTC)

    async def expired(self) -> list[tuple[str, datetime]]:
        due = await self._redis.zrangebyscore(self.WATCH, "-inf", time.time(), start=0, num=500)
        settled: list[tuple[str, datetime]] = []
        for raw in due:
            user_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            last_seen = await self.settle(user_id)
            if last_seen is not None:
                settled.append((user_id, last_seen))
        return settled

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        wanted = set(user_ids)
        here = {user_id for user_id in wanted if user_id in self._sockets}
        elsewhere = sorted(wanted - here)
        if not elsewhere:
            return here
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in elsewhere:
                pipe.zcount(self.PREFIX + user_id, now, "+inf")
            counts = await pipe.execute()
        return here | {user for user, count in zip(elsewhere, counts, strict=True) if count}

    async def shown_online(self, user_ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(user_ids))
        if not wanted:
            return set()
        found = await self._redis.mget([self._keys(user_id)[1] for user_id in wanted])
        return {user for user, value in zip(wanted, found, strict=True) if value is not None}

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        if self._refresher is not None:
            await cancel_and_wait(self._refresher)
            self._refresher = None
        # A clean stop is a disconnect of every socket: settled after the grace period by
        # whichever process looks first (this one, restarted, included), so clients that
        # come back in time see no flap. The grace is the ttl: a restart takes longer.
        for user_id in list(self._sockets):
            await self._gone(user_id, self._ttl)
        self._sockets.clear()
        await self._redis.aclose()

    def _mark(self, pipe: Any, user_id: str, now: float) -> None:
        key = self.PREFIX + user_id
        pipe.zadd(key, {self._process: now + self._ttl})
        pipe.zremrangebyscore(key, "-inf", now)  # forget crashed processes
        pipe.expire(key, int(self._ttl * 2) + 1)
        pipe.zadd(self.WATCH, {user_id: now + self._ttl}, gt=True)

    async def _write(self, fill: Callable[[Any], object]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                fill(pipe)
                await pipe.execute()
        except Exception as exc:  # presence is advisory: never fail a connection over it
            log.warning("presence update failed: %s", exc)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            await self._refresh(list(self._sockets), time.time())

    async def _refresh(self, users: list[str], now: float) -> None:
        for start in range(0, len(users), 1000):
            chunk = users[start : start + 1000]

            def fill(pipe: Any, chunk: list[str] = chunk) -> None:
                for user_id in chunk:
                    self._mark(pipe, user_id, now)

            await self._write(fill)


def _was_last_socket(sockets: dict[str, set[str]], user_id: str, sid: str) -> bool:
    """Forget `sid` of `user_id` in this process; True when it was the user's last socket here."""
    sids = sockets.get(user_id)
    if sids is None:
        return False
    sids.discard(sid)
    if sids:
        return False
    del sockets[user_id]
    return True
