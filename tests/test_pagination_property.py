"""Property: paging through any conversation, either way, with any page size, visits every
message exactly once and in send order — also for messages stored in the same instant."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatkit.server.data.database import Database
from chatkit.server.data.store import Store
from chatkit.server.data.store.messages import NewMessage
from chatkit.timefmt import utcnow


async def _conversation(store: Store) -> tuple[str, str, str]:
    mentor, mentee = str(uuid.uuid4()), str(uuid.uuid4())
    for user in (mentor, mentee):
        await store.users.upsert(user_id=user, full_name="U", email="u@x.io", avatar_url=None)
    session = str(uuid.uuid4())
    await store.sessions.upsert(
        session_id=session,
        mentor_id=mentor,
        mentee_id=mentee,
        start_at=utcnow(),
        status="scheduled",
    )
    view, _ = await store.conversations.get_or_create_for_session(
        session_id=session, user_id=mentor
    )
    return view.id, mentor, mentee


async def _scenario(path: Path, batches: list[int], page: int) -> None:
    database = Database(f"sqlite+aiosqlite:///{path}")
    store = Store(database)
    try:
        conversation_id, mentor, mentee = await _conversation(store)
        participants = await store.conversations.participants(conversation_id)
        assert participants is not None
        stored: list[str] = []
        for size in batches:
            # A whole batch shares one instant: order must come from the ids alone.
            results = await store.messages.apply(
                [
                    NewMessage(participants, mentor if i % 2 else mentee, f"m{i}", "text", [], None)
                    for i in range(size)
                ],
                now=utcnow(),
                notify_delay=0,
            )
            stored.extend(result.message.id for result in results)  # type: ignore[union-attr]
        assert stored == sorted(stored)

        backwards: list[str] = []
        cursor: str | None = None
        while True:
            found = await store.messages.page(
                conversation_id=conversation_id, limit=page, before=cursor
            )
            backwards = [m.id for m in found.messages] + backwards
            if not found.has_more:
                break
            cursor = found.messages[0].id
        assert backwards == stored

        if stored:
            forwards = [stored[0]]
            cursor = stored[0]
            while True:
                found = await store.messages.page(
                    conversation_id=conversation_id, limit=page, after=cursor
                )
                forwards += [m.id for m in found.messages]
                if not found.has_more:
                    break
                cursor = found.messages[-1].id
            assert forwards == stored
        seqs = [
            m.seq
            for m in (
                await store.messages.page(conversation_id=conversation_id, limit=100)
            ).messages
        ]
        assert seqs == list(range(max(1, len(stored) - 99), len(stored) + 1))
    finally:
        await database.dispose()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(st.integers(min_value=1, max_value=25), max_size=6),
    page=st.integers(min_value=1, max_value=30),
)
def test_paging_never_skips_or_repeats(
    sqlite_template: Path, tmp_path: Path, batches: list[int], page: int
) -> None:
    path = tmp_path / f"{uuid.uuid4().hex}.db"
    shutil.copy(sqlite_template, path)
    asyncio.run(_scenario(path, batches, page))
