"""Queries about mentoring sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, or_, select

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
from chatkit.server.data.store.records import SessionRecord
from chatkit.server.errors import Conflict, Unprocessable
from chatkit.timefmt import utcnow

_COLUMNS = (
    sessions.c.id,
    sessions.c.mentor_id,
    sessions.c.mentee_id,
    sessions.c.start_at,
    sessions.c.status,
    sessions.c.created_at,
    sessions.c.updated_at,
)


class SessionStore(KeyedStore[SessionRecord]):
    table = sessions
    noun = "session"

    def _find(self, conn: Connection, key: str) -> SessionRecord | None:
        row = conn.execute(select(*_COLUMNS).where(sessions.c.id == key)).first()
        return SessionRecord(*row) if row is not None else None

    async def upsert(
        self,
        *,
        session_id: str,
        mentor_id: str,
        mentee_id: str,
        start_at: datetime,
        status: str,
    ) -> tuple[SessionRecord, bool]:
        """Create or update a session; the flag says whether it was created.

        A conversation's participants are fixed, so once a session has one, its mentor and
        mentee can no longer change (409).
        """
        if mentor_id == mentee_id:
            raise Unprocessable("mentorId and menteeId must differ", code="same_participants")
        now = utcnow()

        def work(conn: Connection) -> tuple[SessionRecord, bool]:
            found = set(
                conn.execute(
                    select(users.c.id).where(users.c.id.in_([mentor_id, mentee_id]))
                ).scalars()
            )
            for role, user_id in (("mentorId", mentor_id), ("menteeId", mentee_id)):
                if user_id not in found:
                    raise Unprocessable(f"{role} {user_id} names no user", code="unknown_user")
            existing = self._find(conn, session_id)
            if existing is not None:
                moved = (existing.mentor_id, existing.mentee_id) != (mentor_id, mentee_id)
                if moved and _has_conversation(conn, session_id):
                    raise Conflict(
                        "this session has a conversation; its mentor and mentee cannot change",
                        code="participants_fixed",
                    )
            values = {
                "mentor_id": mentor_id,
                "mentee_id": mentee_id,
                "start_at": start_at,
                "status": status,
            }
            self._put(conn, session_id, values, exists=existing is not None, now=now)
            return self._written(conn, session_id), existing is None

        return await self._db.run_write(work)

    async def list(
        self, *, user_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[SessionRecord]:
        query = select(*_COLUMNS).order_by(sessions.c.start_at.desc(), sessions.c.id)
        if user_id is not None:
            query = query.where(
                or_(sessions.c.mentor_id == user_id, sessions.c.mentee_id == user_id)
            )
        query = query.limit(limit).offset(offset)
        return await self._db.run_read(
            lambda conn: [SessionRecord(*row) for row in conn.execute(query)]
        )


def _has_conversation(conn: Connection, session_id: str) -> bool:
    found = conn.scalar(select(conversations.c.id).where(conversations.c.session_id == session_id))
    return found is not None
