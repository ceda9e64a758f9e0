"""Queries about users."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from chatkit.server.data.models import (
    conversations_table as conversations,
)
from chatkit.server.data.models import (
    sessions_table as sessions,
)
from chatkit.server.data.models import (
    users_table as users,
)
from chatkit.server.data.store.keyed import KeyedStore
from chatkit.server.data.store.records import UserRecord
from chatkit.server.errors import Conflict
from chatkit.timefmt import utcnow

_COLUMNS = (
    users.c.id,
    users.c.full_name,
    users.c.email,
    users.c.avatar_url,
    users.c.notify_email,
    users.c.tokens_valid_after,
    users.c.created_at,
    users.c.updated_at,
)


def _record(row: Any) -> UserRecord:
    return UserRecord(*row)


_AUTH_STATE = select(users.c.tokens_valid_after).where(users.c.id == bindparam("user_id"))


class UserStore(KeyedStore[UserRecord]):
    table = users
    noun = "user"

    def _find(self, conn: Connection, key: str) -> UserRecord | None:
        row = conn.execute(select(*_COLUMNS).where(users.c.id == key)).first()
        return _record(row) if row is not None else None

    async def upsert(
        self, *, user_id: str, full_name: str, email: str, avatar_url: str | None
    ) -> tuple[UserRecord, bool]:
        """Create or update a user; the flag says whether it was created."""
        now = utcnow()

        def work(conn: Connection) -> tuple[UserRecord, bool]:
            existing = conn.scalar(select(users.c.id).where(users.c.id == user_id))
            values = {"full_name": full_name, "email": email, "avatar_url": avatar_url}
            exists = existing is not None
            self._put(conn, user_id, values, exists=exists, now=now, notify_email=True)
            return self._written(conn, user_id), not exists

        return await self._db.run_write(work)

    async def names(self, user_ids: set[str]) -> dict[str, str]:
        """Full names by id, for the ids that exist."""
        if not user_ids:
            return {}
        query = select(users.c.id, users.c.full_name).where(users.c.id.in_(user_ids))
        return await self._db.run_read(lambda conn: {row[0]: row[1] for row in conn.execute(query)})

    async def auth_state(self, user_id: str) -> tuple[bool, datetime | None]:
        """Whether the user exists, and the instant before which their tokens are revoked."""
        row = await self._db.run_read(
            lambda conn: conn.execute(_AUTH_STATE, {"user_id": user_id}).first(), quick=True
        )
        if row is None:
            return False, None
        return True, row[0]

    async def token_floors(self, user_ids: set[str]) -> dict[str, datetime | None]:
        """For each existing user among `user_ids`: before when their tokens are refused."""
        ids = sorted(user_ids)

        def work(conn: Connection) -> dict[str, datetime | None]:
            found: dict[str, datetime | None] = {}
            for start in range(0, len(ids), 500):
                rows = conn.execute(
                    select(users.c.id, users.c.tokens_valid_after).where(
                        users.c.id.in_(ids[start : start + 500])
                    )
                )
                found.update({row[0]: row[1] for row in rows})
            return found

        return await self._db.run_read(work)

    async def list(self, *, limit: int = 100, offset: int = 0) -> list[UserRecord]:
        query = (
            select(*_COLUMNS).order_by(users.c.full_name, users.c.id).limit(limit).offset(offset)
        )
        return await self._db.run_read(lambda conn: [_record(row) for row in conn.execute(query)])

    async def count(self) -> int:
        return await self._db.run_read(
            lambda conn: int(conn.scalar(select(func.count()).select_from(users)) or 0)
        )

    async def set_notify_email(self, *, user_id: str, enabled: bool) -> None:
        await self._change(user_id, notify_email=enabled)

    async def revoke_tokens(self, *, user_id: str, before: datetime | None = None) -> datetime:
        """Refuse every token of the user issued before `before` (default: now)."""
        instant = before or utcnow()
        await self._change(user_id, tokens_valid_after=instant)
        return instant

    async def set_last_seen(self, *, user_id: str, at: datetime) -> None:
        """When the user's last socket closed (presence); not an edit of the user."""
        statement = update(users).where(users.c.id == user_id).values(last_seen_at=at)
        await self._db.run_write(lambda conn: conn.execute(statement))

    async def last_seen(self, user_id: str) -> datetime | None:
        statement = select(users.c.last_seen_at).where(users.c.id == user_id)
        return await self._db.run_read(lambda conn: conn.scalar(statement))

    async def hand_over_presence(self, last_seen: dict[str, datetime], *, at: datetime) -> None:
        """Record the users shown online as this process stops, each with when they were last
        seen, for the process that starts next (presence without Redis)."""
        if not last_seen:
            return
        statement = (
            update(users)
            .where(users.c.id == bindparam("handed_over"))
            .values(last_seen_at=bindparam("seen"), presence_handover_at=at)
        )
        rows = [{"handed_over": user, "seen": seen} for user, seen in sorted(last_seen.items())]
        await self._db.run_write(lambda conn: conn.execute(statement, rows))

    async def take_over_presence(self, *, since: datetime) -> dict[str, datetime]:
        """Consume the handover: the users handed over from `since` on, with when they were
        last seen. Older entries (left by a start-up that never took them, then a crash) are
        dropped unread: their partners have long been disconnected from that process."""
        handed_over_at = users.c.presence_handover_at

        def work(conn: Connection) -> dict[str, datetime]:
            rows = conn.execute(
                select(users.c.id, users.c.last_seen_at, handed_over_at).where(
                    handed_over_at >= since
                )
            ).all()
            conn.execute(
                update(users).where(handed_over_at.is_not(None)).values(presence_handover_at=None)
            )
            return {row[0]: row[1] or row[2] for row in rows}

        return await self._db.run_write(work)

    async def _change(self, user_id: str, **values: Any) -> None:
        """Update some columns of one user; 404 when there is no such user."""
        statement = update(users).where(users.c.id == user_id).values(updated_at=utcnow(), **values)
        if await self._db.run_write(lambda conn: conn.execute(statement).rowcount) == 0:
            raise self._missing(user_id)

    async def delete(self, *, user_id: str) -> None:
        """Delete a user who takes part in no session (the platform removes sessions first)."""

        def work(conn: Connection) -> int:
            in_sessions = conn.scalar(
                select(func.count())
                .select_from(sessions)
                .where((sessions.c.mentor_id == user_id) | (sessions.c.mentee_id == user_id))
            )
            in_conversations = conn.scalar(
                select(func.count())
                .select_from(conversations)
                .where(
                    (conversations.c.mentor_id == user_id) | (conversations.c.mentee_id == user_id)
                )
            )
            if in_sessions or in_conversations:
                raise Conflict(
                    f"user {user_id} takes part in sessions or conversations",
                    code="user_in_use",
                )
            return conn.execute(delete(users).where(users.c.id == user_id)).rowcount

        if await self._db.run_write(work) == 0:
            raise self._missing(user_id)
