"""Queries about mentoring sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, or_, select, update

from chatkit.server.data.database import Database
from chatkit.server.data.models import (
    conversations_table as conversations,
)
from chatkit.server.data.models import (
    sessions_table as sessions,
)
from chatkit.server.data.models import (
    users_table as users,
)
from chatkit.server.data.store.records import SessionRecord
from chatkit.server.errors import Conflict, NotFound, Unprocessable
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


class SessionStore:
    def __init__(self, database: Database) -> None:
        self._db = database

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
            existing = _get(conn, session_id)
            if existing is None:
                conn.execute(
                    sessions.insert().values(
                        id=session_id,
                        mentor_id=mentor_id,
                        mentee_id=mentee_id,
                        start_at=start_at,
                        status=status,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                moved = (existing.mentor_id, existing.mentee_id) != (mentor_id, mentee_id)
                if moved and _has_conversation(conn, session_id):
                    raise Conflict(
                        "this session has a conversation; its mentor and mentee cannot change",
                        code="participants_fixed",
                    )
                conn.execute(
                    update(sessions)
                    .where(sessions.c.id == session_id)
                    .values(
                        mentor_id=mentor_id,
                        mentee_id=mentee_id,
                        start_at=start_at,
                        status=status,
                        updated_at=now,
                    )
                )
            record = _get(conn, session_id)
            assert record is not None
            return record, existing is None

        return await self._db.run_write(work)

    async def get(self, session_id: str) -> SessionRecord | None:
        return await self._db.run_read(lambda conn: _get(conn, session_id))

    async def require(self, session_id: str) -> SessionRecord:
        record = await self.get(session_id)
        if record is None:
            raise NotFound(f"no session {session_id}", code="session_not_found")
        return record

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


def _get(conn: Connection, session_id: str) -> SessionRecord | None:
    row = conn.execute(select(*_COLUMNS).where(sessions.c.id == session_id)).first()
    return SessionRecord(*row) if row is not None else None
