"""Who is connected. In one process a counter per user; several processes share it in Redis."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Presence(Protocol):
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

    async def close(self) -> None:
        self._sockets.clear()
