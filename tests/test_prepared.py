"""Prepared statements (the hot write's) behave as `Connection.execute` does, on each backend:
the same values in and out (aware UTC instants included), the same exceptions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError

from chatkit.server.data.database import Database
from chatkit.server.data.models import users_table as users
from chatkit.server.data.prepared import Prepared

_COLUMNS = ("id", "full_name", "email", "avatar_url", "notify_email", "created_at", "updated_at")
_INSERT = Prepared(users.insert(), columns=_COLUMNS)
_ONE = Prepared(select(*(users.c[name] for name in _COLUMNS)).where(users.c.id == bindparam("id")))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


def _user(user_id: str, created_at: datetime) -> dict[str, object]:
    return {
        "id": user_id,
        "full_name": f"User {user_id}",
        "email": f"{user_id}@example.org",
        "avatar_url": None,
        "notify_email": True,
        "created_at": created_at,
        "updated_at": created_at,
    }


async def test_prepared_rows_read_what_execute_reads(database: Database) -> None:
    # An instant given in another zone is stored as the same UTC instant.
    created = datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=timezone(timedelta(hours=2)))
    await database.run_write(lambda conn: _INSERT.run(conn, _user("u-1", created)))
    await database.run_write(
        lambda conn: _INSERT.run_many(conn, [_user("u-2", created), _user("u-3", created)])
    )

    def both(conn: Connection) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        query = select(*(users.c[name] for name in _COLUMNS)).where(users.c.id == "u-1")
        return _ONE.rows(conn, {"id": "u-1"}), [tuple(row) for row in conn.execute(query)]

    prepared, executed = await database.run_read(both)
    assert prepared == executed
    assert prepared[0][-1] == created.astimezone(UTC)
    assert prepared[0][-1].tzinfo is not None
    assert await database.run_read(lambda conn: _ONE.rows(conn, {"id": "u-3"}))
    assert await database.run_read(lambda conn: _ONE.rows(conn, {"id": "nobody"})) == []


async def test_prepared_raises_what_execute_raises_and_writes_nothing(
    database: Database,
) -> None:
    now = datetime.now(UTC)
    await database.run_write(lambda conn: _INSERT.run(conn, _user("u-1", now)))

    def duplicate(conn: Connection) -> None:
        _INSERT.run(conn, _user("u-2", now))
        _INSERT.run(conn, _user("u-1", now))  # the primary key again

    with pytest.raises(IntegrityError):
        await database.run_write(duplicate)
    assert await database.run_read(lambda conn: _ONE.rows(conn, {"id": "u-2"})) == []
