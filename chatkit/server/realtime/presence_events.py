"""`presence {userId, online, lastSeenAt}` events, to the people who share a conversation with
the user and to nobody else.

"Online" goes out when a user's first socket anywhere connects. "Offline" goes out when the
last one closed and `grace` seconds passed without a new one, so a reconnect (a network
change, a server restart with clients coming back) does not flap. The moment the last socket
closed is kept as the user's `lastSeenAt`. Which process does what is decided by the
Presence backend (Redis scripts across processes), so each transition is announced once.
Without Redis, a PresenceHandover carries who is shown online across a clean restart.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from chatkit.aiotools import cancel_and_wait
from chatkit.server.data.store.conversations import ConversationStore
from chatkit.server.data.store.users import UserStore
from chatkit.server.realtime.presence import Presence
from chatkit.server.realtime.presence_handover import PresenceHandover
from chatkit.server.realtime.publisher import Publisher
from chatkit.server.wire import render

log = logging.getLogger("chatkit.presence")


class PresenceEvents:
    def __init__(
        self,
        presence: Presence,
        *,
        conversations: ConversationStore,
        users: UserStore,
        publisher: Publisher,
        grace: float,
        sweep_every: float,
        restart_grace: float,
        handover: PresenceHandover | None = None,
    ) -> None:
        self._presence = presence
        self._conversations = conversations
        self._users = users
        self._publisher = publisher
        self._grace = grace
        self._sweep_every = sweep_every
        self._restart_grace = restart_grace
        self._handover = handover
        self._pending: dict[str, tuple[asyncio.Task[None], datetime]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        if self._handover is not None:
            # Before any socket connects: a user coming back is then not news.
            for user_id in await self._handover.take():
                self._settle_after(user_id, self._restart_grace)
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(
                self._sweep_forever(), name="chatkit-presence-sweep"
            )

    def shutting_down(self) -> None:
        """The sockets about to close come back to another process or to this one restarted:
        give them longer than a network blip before anyone is told they left."""
        self._stopping = True

    async def stop(self) -> None:
        if self._sweeper is not None:
            await cancel_and_wait(self._sweeper)
            self._sweeper = None
        pending = list(self._pending.items())
        self._pending.clear()
        for user_id, (task, closed_at) in pending:
            await cancel_and_wait(task)
            if self._handover is None:
                # Nobody here will settle them: at least remember when they were last seen.
                await self._remember(user_id, closed_at)
        if self._handover is not None:
            await self._handover.give()

    async def connected(self, user_id: str, sid: str) -> None:
        if await self._presence.connected(user_id, sid):
            await self._announce(user_id, online=True, last_seen=None)

    async def disconnected(self, user_id: str, sid: str) -> None:
        grace = self._restart_grace if self._stopping else self._grace
        if not await self._presence.disconnected(user_id, sid, grace=grace):
            return
        if self._stopping:
            await self._remember(user_id, datetime.now(UTC))
            return
        self._settle_after(user_id, self._grace)

    def _settle_after(self, user_id: str, delay: float) -> None:
        previous = self._pending.pop(user_id, None)
        if previous is not None:
            previous[0].cancel()
        task = asyncio.create_task(
            self._settle_later(user_id, delay), name="chatkit-presence-grace"
        )
        self._pending[user_id] = (task, datetime.now(UTC))

    async def _settle_later(self, user_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        self._pending.pop(user_id, None)
        try:
            last_seen = await self._presence.settle(user_id)
            if last_seen is not None:
                await self._announce(user_id, online=False, last_seen=last_seen)
        except Exception as exc:  # the sweep settles them later
            log.warning("settling the presence of %s failed: %s", user_id, exc)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_every)
            try:
                for user_id, last_seen in await self._presence.expired():
                    await self._announce(user_id, online=False, last_seen=last_seen)
            except Exception as exc:  # a safety net: it must keep running
                log.warning("presence sweep failed: %s", exc)

    async def _announce(self, user_id: str, *, online: bool, last_seen: datetime | None) -> None:
        try:
            await self._tell_partners(user_id, online=online, last_seen=last_seen)
        except Exception as exc:  # presence is advisory: never fail a connection over it
            log.warning("announcing the presence of %s failed: %s", user_id, exc)

    async def _tell_partners(
        self, user_id: str, *, online: bool, last_seen: datetime | None
    ) -> None:
        if last_seen is not None:
            await self._remember(user_id, last_seen)
        else:
            last_seen = await self._users.last_seen(user_id)
        payload = render.presence(user_id, online=online, last_seen=last_seen)
        for partner in sorted(await self._conversations.partners(user_id)):
            self._publisher.presence(payload, partner)

    async def _remember(self, user_id: str, last_seen: datetime) -> None:
        try:
            await self._users.set_last_seen(user_id=user_id, at=last_seen)
        except Exception as exc:  # presence is advisory; the user may just have been deleted
            log.warning("recording when %s was last seen failed: %s", user_id, exc)
