"""SQLite quick transactions: on the event loop, and off it whenever the database is locked.

A quick transaction (a point read, a one-message write) runs on the loop thread; when another
connection holds the write lock it must neither wait on the loop nor half-write: it rolls
back and runs in the writer thread, which waits for the lock as usual.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from chatkit.server.data.database import LOOP_COMMITS_PER_CHECKPOINT, Database

TIMEOUT = 10.0


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    path = tmp_path / "quick.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.run_write(lambda conn: conn.execute(text("CREATE TABLE t (n INTEGER)")))
    yield db
    await db.dispose()


def _insert(n: int) -> object:
    def work(conn: Connection) -> int:
        conn.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
        return threading.get_ident()

    return work


def _rows(conn: Connection) -> list[int]:
    return [row[0] for row in conn.execute(text("SELECT n FROM t ORDER BY rowid"))]


async def test_quick_transactions_run_on_the_loop_thread(database: Database) -> None:
    loop_thread = threading.get_ident()

    written_on = await database.run_write(_insert(1), quick=True)  # type: ignore[arg-type]
    read_on = await database.run_read(lambda conn: threading.get_ident(), quick=True)
    queued_on = await database.run_write(_insert(2))  # type: ignore[arg-type]

    assert written_on == read_on == loop_thread
    assert queued_on != loop_thread, "without quick, the writer thread"
    assert await database.run_read(_rows, quick=True) == [1, 2]


async def test_a_locked_database_sends_the_quick_write_to_the_thread_once(
    database: Database, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "quick.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    other.execute("INSERT INTO t (n) VALUES (0)")
    loop_ran = asyncio.Event()
    loop_thread = threading.get_ident()

    write = asyncio.create_task(database.run_write(_insert(1), quick=True))  # type: ignore[arg-type]
    asyncio.get_running_loop().call_soon(loop_ran.set)
    await asyncio.wait_for(loop_ran.wait(), TIMEOUT)  # the loop was never blocked on the lock
    assert not write.done(), "it waits for the lock, in the thread"
    other.execute("COMMIT")
    other.close()
    written_on = await asyncio.wait_for(write, TIMEOUT)

    assert written_on != loop_thread
    assert await database.run_read(_rows, quick=True) == [0, 1], "written once, in order"


async def test_a_locked_database_does_not_stop_quick_reads(
    database: Database, tmp_path: Path
) -> None:
    await database.run_write(_insert(7))  # type: ignore[arg-type]
    other = sqlite3.connect(tmp_path / "quick.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t (n) VALUES (8)")
    try:
        assert await asyncio.wait_for(database.run_read(_rows, quick=True), TIMEOUT) == [7]
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_commits_on_the_loop_are_checkpointed_by_the_thread(
    database: Database, tmp_path: Path
) -> None:
    for n in range(LOOP_COMMITS_PER_CHECKPOINT):
        await database.run_write(_insert(n), quick=True)  # type: ignore[arg-type]
    checkpoint = database._checkpoint
    assert checkpoint is not None, "the writer thread was asked to checkpoint"
    result = await asyncio.wait_for(checkpoint, TIMEOUT)

    assert result is not None
    busy, wal_frames, checkpointed = result
    assert busy == 0 and wal_frames >= LOOP_COMMITS_PER_CHECKPOINT
    assert checkpointed == wal_frames, "the loop's connection never checkpointed on its own"
    assert len(await database.run_read(_rows, quick=True)) == LOOP_COMMITS_PER_CHECKPOINT
