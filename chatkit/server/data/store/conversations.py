"""Queries about conversations: listing with last message and unread count, get-or-create."""

from __future__ import annotations

from typing import Any

from cachetools import LRUCache
from sqlalchemy import BindParameter, Connection, Select, String, bindparam, case, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from chatkit.ids import new_id
from chatkit.server.data.database import Database
from chatkit.server.data.models import (
    conversations_table as conversations,
)
from chatkit.server.data.models import (
    messages_table as messages,
)
from chatkit.server.data.models import (
    sessions_table as sessions,
)
from chatkit.server.data.models import (
    users_table,
)
from chatkit.server.data.store.records import (
    ConversationView,
    LastMessage,
    Participants,
    Person,
    ReadState,
    SessionSummary,
)
from chatkit.server.errors import Forbidden, NotFound
from chatkit.timefmt import utcnow

mentor = users_table.alias("mentor")
mentee = users_table.alias("mentee")
last = messages.alias("last_message")

PARTICIPANTS_CACHE_SIZE = 100_000


_USER: BindParameter[str] = bindparam("user_id", type_=String())


def _view_query() -> Select[Any]:
    """Conversations as the user bound to `user_id` sees them."""
    unread = case(
        (conversations.c.mentor_id == _USER, conversations.c.mentor_unread),
        else_=conversations.c.mentee_unread,
    )
    return select(
        conversations.c.id,
        mentor.c.id,
        mentor.c.full_name,
        mentor.c.avatar_url,
        mentee.c.id,
        mentee.c.full_name,
        mentee.c.avatar_url,
        sessions.c.id,
        sessions.c.start_at,
        sessions.c.status,
        last.c.id,
        last.c.content,
        last.c.created_at,
        last.c.sender_id,
        unread,
        conversations.c.updated_at,
        last.c.edited_at,
        last.c.deleted_at,
        mentor.c.last_seen_at,
        mentee.c.last_seen_at,
    ).select_from(
        conversations.join(mentor, mentor.c.id == conversations.c.mentor_id)
        .join(mentee, mentee.c.id == conversations.c.mentee_id)
        .join(sessions, sessions.c.id == conversations.c.session_id)
        .outerjoin(last, last.c.id == conversations.c.last_message_id)
    )


# Statements built once: building a SELECT costs more than running it on SQLite.
_OF_USER = or_(conversations.c.mentor_id == _USER, conversations.c.mentee_id == _USER)
_LIST = (
    _view_query()
    .where(_OF_USER)
    .order_by(conversations.c.updated_at.desc(), conversations.c.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_ONE = _view_query().where(conversations.c.id == bindparam("conversation_id"))
_PARTICIPANTS = select(conversations.c.mentor_id, conversations.c.mentee_id).where(
    conversations.c.id == bindparam("conversation_id")
)
_IDS_OF_USER = select(conversations.c.id).where(_OF_USER)
_PEOPLE_OF_USER = (
    select(conversations.c.mentor_id, conversations.c.mentee_id).where(_OF_USER).distinct()
)


def _view(row: Any) -> ConversationView:  # one row of _view_query
    return ConversationView(
        id=row[0],
        mentor=Person(row[1], row[2], row[3], row[18]),
        mentee=Person(row[4], row[5], row[6], row[19]),
        session=SessionSummary(row[7], row[8], row[9]),
        last_message=LastMessage(row[10], row[11], row[12], row[13], row[16], row[17])
        if row[10]
        else None,
        unread_count=row[14],
        updated_at=row[15],
    )


def _insert_ignoring_conflict(dialect: str, values: dict[str, Any]) -> Any:
    if dialect == "postgresql":
        return (
            pg_insert(conversations)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["session_id"])
        )
    return (
        sqlite_insert(conversations)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["session_id"])
    )


class ConversationStore:
    def __init__(self, database: Database) -> None:
        self._db = database
        # Participants never change once a conversation exists, so they can be cached forever.
        self._participants: LRUCache[str, Participants] = LRUCache(PARTICIPANTS_CACHE_SIZE)

    async def list_for_user(
        self, *, user_id: str, limit: int, offset: int
    ) -> list[ConversationView]:
        """The user's conversations, most recently active first, in one query."""
        params = {"user_id": user_id, "limit": limit, "offset": offset}
        return await self._db.run_read(
            lambda conn: [_view(row) for row in conn.execute(_LIST, params)]
        )

    async def view(self, *, conversation_id: str, user_id: str) -> ConversationView:
        """One conversation as `user_id` sees it; 404 unless they take part in it."""
        await self.require_participant(conversation_id=conversation_id, user_id=user_id)
        return await self._db.run_read(lambda conn: _one_view(conn, conversation_id, user_id))

    async def participants(self, conversation_id: str) -> Participants | None:
        cached = self._participants.get(conversation_id)
        if cached is not None:
            return cached
        row = await self._db.run_read(
            lambda conn: conn.execute(_PARTICIPANTS, {"conversation_id": conversation_id}).first(),
            quick=True,
        )
        if row is None:
            return None
        found = Participants(conversation_id, row[0], row[1])
        self._participants[conversation_id] = found
        return found

    async def require_participant(self, *, conversation_id: str, user_id: str) -> Participants:
        """The participants, or 404 for an unknown conversation and for an outsider alike."""
        found = await self.participants(conversation_id)
        if found is None or not found.includes(user_id):
            raise NotFound("no such conversation", code="conversation_not_found")
        return found

    async def read_state(self, *, conversation_id: str, user_id: str) -> ReadState:
        """Where each side has read up to, and the caller's unread count."""
        row = await self._db.run_read(
            lambda conn: conn.execute(
                select(
                    conversations.c.mentor_id,
                    conversations.c.last_seq,
                    conversations.c.mentor_read_seq,
                    conversations.c.mentee_read_seq,
                    conversations.c.mentor_unread,
                    conversations.c.mentee_unread,
                ).where(conversations.c.id == conversation_id)
            ).first()
        )
        if row is None:
            raise NotFound("no such conversation", code="conversation_not_found")
        mentor_id, last_seq, mentor_read, mentee_read, mentor_unread, mentee_unread = row
        if user_id == mentor_id:
            return ReadState(last_seq, mentor_read, mentee_read, mentor_unread)
        return ReadState(last_seq, mentee_read, mentor_read, mentee_unread)

    async def ids_for_user(self, user_id: str) -> list[str]:
        return await self._db.run_read(
            lambda conn: list(conn.execute(_IDS_OF_USER, {"user_id": user_id}).scalars())
        )

    async def partners(self, user_id: str) -> set[str]:
        """Everyone who shares a conversation with the user."""
        rows = await self._db.run_read(
            lambda conn: conn.execute(_PEOPLE_OF_USER, {"user_id": user_id}).all()
        )
        return {person for row in rows for person in row} - {user_id}

    async def get_or_create_for_session(
        self, *, session_id: str, user_id: str
    ) -> tuple[ConversationView, bool]:
        """The session's conversation, created on first call; concurrent calls create one."""

        def find(conn: Connection) -> tuple[tuple[str, str], ConversationView | None]:
            session = conn.execute(
                select(sessions.c.mentor_id, sessions.c.mentee_id).where(
                    sessions.c.id == session_id
                )
            ).first()
            if session is None:
                raise NotFound(f"no session {session_id}", code="session_not_found")
            if user_id not in (session[0], session[1]):
                raise Forbidden(
                    "only the session's mentor or mentee can open its conversation",
                    code="not_a_participant",
                )
            existing = conn.scalar(
                select(conversations.c.id).where(conversations.c.session_id == session_id)
            )
            found = _one_view(conn, existing, user_id) if existing is not None else None
            return (session[0], session[1]), found

        (mentor_id, mentee_id), found = await self._db.run_read(find)
        if found is not None:
            return found, False
        now = utcnow()

        def create(conn: Connection) -> tuple[ConversationView, bool]:
            inserted = conn.execute(
                _insert_ignoring_conflict(
                    self._db.dialect,
                    {
                        "id": new_id(),
                        "session_id": session_id,
                        "mentor_id": mentor_id,
                        "mentee_id": mentee_id,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
            )
            conversation_id = conn.scalar(
                select(conversations.c.id).where(conversations.c.session_id == session_id)
            )
            assert conversation_id is not None
            return _one_view(conn, conversation_id, user_id), inserted.rowcount == 1

        return await self._db.run_write(create)


def _one_view(conn: Connection, conversation_id: str, user_id: str) -> ConversationView:
    row = conn.execute(_ONE, {"user_id": user_id, "conversation_id": conversation_id}).first()
    if row is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    return _view(row)
