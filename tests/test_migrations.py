"""Migrations: a database created at the previous release, with data in it, upgrades to head
keeping every row, and the migrated schema is exactly what the models describe."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

from chatkit.server.data import migrate
from chatkit.server.data.database import Database
from chatkit.server.data.models import Base
from tests.support import backends

PREVIOUS_RELEASE = "0002"


@pytest.fixture(params=backends.selected())
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database with no tables at all, on each selected backend."""
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        yield database
        await database.dispose()
        return
    name = f"ck_migrate_{uuid.uuid4().hex[:12]}"
    await backends.create_postgres_database(name)
    database = Database(backends.postgres_url(name))
    try:
        yield database
    finally:
        await database.dispose()
        await backends.drop_postgres_database(name)


def _fill_previous_release(conn: Connection) -> dict[str, str]:
    """Rows as the 0002 schema holds them, written with plain SQL (the models are newer)."""
    ids = {key: str(uuid.uuid4()) for key in ("mentor", "mentee", "session", "conv", "msg")}
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    for who in ("mentor", "mentee"):
        conn.execute(
            text(
                "INSERT INTO users (id, full_name, email, notify_email, created_at, updated_at)"
                " VALUES (:id, :name, :email, true, :now, :now)"
            ),
            {"id": ids[who], "name": who.title(), "email": f"{who}@example.com", "now": now},
        )
    conn.execute(
        text(
            "INSERT INTO mentoring_sessions (id, mentor_id, mentee_id, start_at, status,"
            " created_at, updated_at) VALUES (:id, :mentor, :mentee, :now, 'scheduled', :now, :now)"
        ),
        {"id": ids["session"], "mentor": ids["mentor"], "mentee": ids["mentee"], "now": now},
    )
    conn.execute(
        text(
            "INSERT INTO conversations (id, session_id, mentor_id, mentee_id, created_at,"
            " updated_at, last_seq, last_message_id, mentor_read_seq, mentee_read_seq,"
            " mentor_unread, mentee_unread) VALUES (:id, :session, :mentor, :mentee, :now, :now,"
            " 1, :msg, 1, 0, 0, 1)"
        ),
        {
            "id": ids["conv"],
            "session": ids["session"],
            "mentor": ids["mentor"],
            "mentee": ids["mentee"],
            "msg": ids["msg"],
            "now": now,
        },
    )
    conn.execute(
        text(
            "INSERT INTO messages (id, conversation_id, seq, sender_id, content, content_type,"
            " attachments, created_at) VALUES (:id, :conv, 1, :mentor, 'hello from 0002',"
            " 'text', '[]', :now)"
        ),
        {"id": ids["msg"], "conv": ids["conv"], "mentor": ids["mentor"], "now": now},
    )
    return ids


def _schema_differences(conn: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


async def test_upgrade_from_the_previous_release_keeps_the_data(empty_database: Database) -> None:
    await migrate.upgrade(empty_database, PREVIOUS_RELEASE)
    ids = await empty_database.run_write(_fill_previous_release)

    await migrate.upgrade(empty_database)

    assert await migrate.current_revision(empty_database) == migrate.head_revision()
    message = await empty_database.run_read(
        lambda conn: conn.execute(
            text("SELECT content, edited_at, deleted_at, change_seq FROM messages WHERE id = :id"),
            {"id": ids["msg"]},
        ).one()
    )
    assert tuple(message) == ("hello from 0002", None, None, 0)
    conversation = await empty_database.run_read(
        lambda conn: conn.execute(
            text("SELECT last_seq, mentee_unread, change_seq FROM conversations WHERE id = :id"),
            {"id": ids["conv"]},
        ).one()
    )
    assert tuple(conversation) == (1, 1, 0)
    seen = await empty_database.run_read(
        lambda conn: conn.execute(
            text(
                "SELECT count(*) FROM users"
                " WHERE last_seen_at IS NULL AND presence_handover_at IS NULL"
            )
        ).scalar_one()
    )
    assert seen == 2


async def test_migrated_schema_matches_the_models(empty_database: Database) -> None:
    await migrate.upgrade(empty_database)

    differences = await empty_database.run_read(_schema_differences)

    assert differences == []
