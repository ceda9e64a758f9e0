"""Who is connected. In one process a counter per user; several processes share it in Redis."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from chatkit.aiotools import cancel_and_wait

log = logging.getLogger("chatkit.presence")


class Presence(Protocol):
    def start(self) -> None: ...

    async def connected(self, user_id: str, sid: str) -> None: ...

    async def disconnected(self, user_id: str, sid: str) -> None: ...

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        """The subset of `user_ids` with at least one connected socket anywhere."""
        ...

    async def close(self) -> None: ...


class LocalPresence:
    """Presence for a single process: the sockets connected to it are all there is."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[str]] = {}

    def start(self) -> None:
        pass

    async def connected(self, user_id: str, sid: str) -> None:
        self._sockets.setdefault(user_id, set()).add(sid)

    async def disconnected(self, user_id: str, sid: str) -> None:
        sids = self._sockets.get(user_id)
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self._sockets[user_id]

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        return {user_id for user_id in user_ids if user_id in self._sockets}

    def local_sockets(self, user_id: str) -> set[str]:
        return set(self._sockets.get(user_id, ()))

    def users(self) -> Iterator[str]:
        return iter(list(self._sockets))

    async def close(self) -> None:
        self._sockets.clear()


class RedisPresence:
    """Presence shared by every process through Redis, surviving crashes by expiry.

    Each user has a sorted set `chatkit:presence:<user>` whose members are process ids and
    whose scores are "online until" timestamps. A process refreshes its members every
    ttl/3 seconds while it has sockets of that user, and removes them when the last one
    goes; a crashed process stops refreshing, so its users fall offline within `ttl`.
    """

    PREFIX = "chatkit:presence:"

    def __init__(self, url: str, *, ttl: float = 30.0) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._ttl = ttl
        self._local = LocalPresence()
        self._process = uuid.uuid4().hex
        self._refresher: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh_forever(), name="chatkit-presence")

    async def connected(self, user_id: str, sid: str) -> None:
        first = not self._local.local_sockets(user_id)
        await self._local.connected(user_id, sid)
        if first:
            await self._write(lambda pipe: self._mark(pipe, user_id, time.time()))

    async def disconnected(self, user_id: str, sid: str) -> None:
        await self._local.disconnected(user_id, sid)
        if not self._local.local_sockets(user_id):
            await self._write(lambda pipe: pipe.zrem(self.PREFIX + user_id, self._process))

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        wanted = set(user_ids)
        here = await self._local.online(wanted)
        elsewhere = sorted(wanted - here)
        if not elsewhere:
            return here
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in elsewhere:
                pipe.zcount(self.PREFIX + user_id, now, "+inf")
            counts = await pipe.execute()
        return here | {user for user, count in zip(elsewhere, counts, strict=True) if count}

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        if self._refresher is not None:
            await cancel_and_wait(self._refresher)
            self._refresher = None
        users = list(self._local.users())
        if users:
            # A clean stop takes its users offline now rather than at expiry.

            def forget(pipe: Any) -> None:
                for user_id in users:
                    pipe.zrem(self.PREFIX + user_id, self._process)

            await self._write(forget)
        await self._local.close()
        await self._redis.aclose()

    def _mark(self, pipe: Any, user_id: str, now: float) -> None:
        key = self.PREFIX + user_id
        pipe.zadd(key, {self._process: now + self._ttl})
        pipe.zremrangebyscore(key, "-inf", now)  # forget crashed processes
        pipe.expire(key, int(self._ttl * 2) + 1)

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
            await self._refresh(list(self._local.users()), time.time())

    async def _refresh(self, users: list[str], now: float) -> None:
        for start in range(0, len(users), 1000):
            chunk = users[start : start + 1000]

            def fill(pipe: Any, chunk: list[str] = chunk) -> None:
                for user_id in chunk:
                    self._mark(pipe, user_id, now)

            await self._write(fill)
