"""The admin API's writes, a validated body into the store and the record rendered back:
`PUT /api/admin/users/{id}` and `/sessions/{id}` make them, and so do `chatkit users put`
and `chatkit sessions put` on the local database, so both ways answer the same."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatkit.server.wire import render

if TYPE_CHECKING:
    from chatkit.server.data.store import Store
    from chatkit.server.wire.schemas import SessionIn, UserIn
    from chatkit.wire import Session, User


async def put_user(store: Store, user_id: str, user: UserIn) -> tuple[User, bool]:
    """Create or update the user; the flag says whether it was created."""
    record, created = await store.users.upsert(
        user_id=user_id,
        full_name=user.full_name,
        email=user.email,
        avatar_url=user.avatar_url,
    )
    return render.user(record), created


async def put_session(store: Store, session_id: str, session: SessionIn) -> tuple[Session, bool]:
    """Create or update the session; the flag says whether it was created."""
    record, created = await store.sessions.upsert(
        session_id=session_id,
        mentor_id=session.mentor_id,
        mentee_id=session.mentee_id,
        start_at=session.start_at,
        status=session.status,
    )
    return render.session(record), created
