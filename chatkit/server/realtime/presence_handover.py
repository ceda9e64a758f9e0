"""Presence without Redis across a clean restart, through the database.

One process without Redis keeps presence in memory (LocalPresence), so a restart would forget
who its users' partners were told is online. On SIGTERM the stopping process records those
users in the database (`users.presence_handover_at`, with their `last_seen_at`); the next
process takes the record over before it accepts a connection and shows them online without
sockets, due offline once the restart grace is over. Whoever comes back in time was never
away for their partners; whoever does not goes offline once, as last seen at the shutdown.

A record older than the restart grace is dropped unread: no process took it in time (a
start-up failed, then a crash), and the partners it was about have reconnected since and
read presence from the conversation list.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from chatkit.server.data.store.users import UserStore
from chatkit.server.realtime.presence import LocalPresence
from chatkit.timefmt import utcnow

log = logging.getLogger("chatkit.presence")


class PresenceHandover:
    def __init__(self, presence: LocalPresence, users: UserStore, *, restart_grace: float) -> None:
        self._presence = presence
        self._users = users
        self._restart_grace = restart_grace

    async def give(self) -> None:
        """Hand the users shown online over to the next process (call once their sockets
        are closed, so that their last seen time is the shutdown's)."""
        try:
            await self._users.hand_over_presence(self._presence.handover(), at=utcnow())
        except Exception as exc:  # presence is advisory: never fail a shutdown over it
            log.warning("handing presence over failed: %s", exc)

    async def take(self) -> list[str]:
        """Adopt what the previous process handed over; the users adopted, to settle once the
        restart grace is over."""
        since = utcnow() - timedelta(seconds=self._restart_grace)
        try:
            last_seen = await self._users.take_over_presence(since=since)
        except Exception as exc:  # presence is advisory: never fail a start-up over it
            log.warning("taking presence over failed: %s", exc)
            return []
        self._presence.adopt(last_seen)
        return sorted(last_seen)
