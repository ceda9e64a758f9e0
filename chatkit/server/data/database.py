"""Engines: one per process, tuned per backend (SQLite WAL + immediate write transactions)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool, StaticPool

from chatkit.config import ConfigError
from chatkit.server.data.prepared import Prepared

SQLITE_BUSY_TIMEOUT_MS = 10_000
POOL_TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5.0
COMMAND_TIMEOUT_SECONDS = 15.0
SQLITE_READER_THREADS = 4
# Commits made on the event loop between two WAL checkpoints (which run in the writer thread).
LOOP_COMMITS_PER_CHECKPOINT = 500
_WRITE = "chatkit_write"
_BEGIN_IMMEDIATE = Prepared(text("BEGIN IMMEDIATE"))
_BEGIN = Prepared(text("BEGIN"))
_ONE_STATEMENT = "chatkit_one_statement"

log = logging.getLogger("chatkit.database")

T = TypeVar("T")
Work = Callable[[Connection], T]


class Database:
    """The engine plus the two kinds of transaction the store uses.

    A write transaction on SQLite starts with BEGIN IMMEDIATE, so a writer takes the lock up
    front and waits (busy_timeout) instead of failing later with "database is locked" when it
    upgrades from reading to writing.

    The store's queries are plain functions of a synchronous `Connection`, run in one
    transaction by `run_read` / `run_write`:

    - on PostgreSQL through the async engine (asyncpg, `AsyncConnection.run_sync`);
    - on SQLite in threads of our own with the standard `sqlite3` driver: one hand-off to a
      thread per transaction, instead of one per statement (and per fetch, BEGIN and COMMIT)
      with aiosqlite, which made a one-message write cost ~1 ms of CPU. Writes go to a
      single writer thread, reads to a small pool (WAL lets them run beside the writer).
    - `quick=True` on SQLite: a transaction known to be short (a point read of one
      statement, which needs no BEGIN to see one snapshot; one message) runs on the event
      loop itself, on a connection of its own that never waits for a lock.
      The hand-off to a thread and back costs more CPU than such a transaction; at light load
      that hand-off was most of a message's database cost. If the database is locked (another
      process or connection writes), it rolls back untouched and goes to the thread instead,
      so the loop never waits. That connection does not checkpoint the WAL: the writer thread
      does, every LOOP_COMMITS_PER_CHECKPOINT commits, so no fsync ever runs on the loop.

    Every query of the server goes through these two, migrations and the notification
    outbox included; the async engine itself only answers `ping` (and, on PostgreSQL, runs
    the transactions).
    """

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 8) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {"echo": echo}
        self._memory_anchor: sqlite3.Connection | None = None
        if self.is_sqlite:
            url, self._memory_anchor = _shared_memory(url)
            if self._memory_anchor is not None:
                # SQLAlchemy picks StaticPool for memory databases; ours is shared by name.
                options["poolclass"] = AsyncAdaptedQueuePool
            _ensure_sqlite_folder(url)
            options["connect_args"] = {"isolation_level": None, "check_same_thread": False}
            options["pool_size"] = pool_size
        else:
            options["pool_size"] = pool_size
            options["max_overflow"] = pool_size * 2
            options["pool_pre_ping"] = True
            # Bounded waits: when PostgreSQL goes away, requests fail with 503 in seconds
            # instead of hanging on a dead connection or an empty pool.
            options["pool_timeout"] = POOL_TIMEOUT_SECONDS
            options["connect_args"] = {
                "timeout": CONNECT_TIMEOUT_SECONDS,
                "command_timeout": COMMAND_TIMEOUT_SECONDS,
            }
        self.engine: AsyncEngine = create_async_engine(url, **options)
        self._writer_engine = self.engine.execution_options(**{_WRITE: True})
        self._sync: Engine | None = None
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine.sync_engine)
            sync_url = make_url(url).set(drivername="sqlite+pysqlite")
            self._sync = create_engine(
                sync_url,
                echo=echo,
                poolclass=QueuePool,
                pool_size=SQLITE_READER_THREADS + 1,
                connect_args={"isolation_level": None, "check_same_thread": False},
            )
            _install_sqlite_hooks(self._sync)
            self._sync_writer = self._sync.execution_options(**{_WRITE: True})
            # One connection for the loop thread: no busy wait, no automatic checkpoint.
            self._loop_engine = create_engine(
                sync_url,
                echo=echo,
                poolclass=StaticPool,
                connect_args={"isolation_level": None, "check_same_thread": False, "timeout": 0},
            )
            _install_sqlite_hooks(self._loop_engine, busy_timeout_ms=0, checkpoints=False)
            self._loop_writer = _LoopConnection(
                self._loop_engine.execution_options(**{_WRITE: True})
            )
            self._loop_reader = _LoopConnection(
                self._loop_engine.execution_options(**{_ONE_STATEMENT: True})
            )
            self._loop_commits = 0
            self._checkpoint: asyncio.Future[tuple[int, int, int] | None] | None = None
            self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="chatkit-db-write")
            self._read_threads = ThreadPoolExecutor(
                SQLITE_READER_THREADS, thread_name_prefix="chatkit-db-read"
            )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def run_read(self, work: Work[T], *, quick: bool = False) -> T:
        """`work(connection)` in a read transaction; its result.

        `quick` (see the class): `work` runs a single statement.
        """
        if self._sync is not None:
            if quick:
                done, result = self._loop_reader.unless_locked(work)
                if done:
                    return result  # type: ignore[return-value]
            return await asyncio.get_running_loop().run_in_executor(
                self._read_threads, _in_transaction, self._sync, work
            )
        async with self.engine.begin() as conn:
            return await conn.run_sync(work)

    async def run_write(self, work: Work[T], *, quick: bool = False) -> T:
        """`work(connection)` in a write transaction, committed when it returns.

        `work` may run twice (see the class): it must not change anything outside the
        transaction.
        """
        if self._sync is not None:
            loop = asyncio.get_running_loop()
            if quick:
                done, result = self._loop_writer.unless_locked(work)
                if done:
                    self._count_loop_commit(loop)
                    return result  # type: ignore[return-value]
            return await loop.run_in_executor(
                self._write_thread, _in_transaction, self._sync_writer, work
            )
        async with self._writer_engine.begin() as conn:
            return await conn.run_sync(work)

    def _count_loop_commit(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop_commits += 1
        if self._loop_commits < LOOP_COMMITS_PER_CHECKPOINT:
            return
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        self._loop_commits = 0
        assert self._sync is not None
        self._checkpoint = loop.run_in_executor(self._write_thread, _checkpoint, self._sync)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def open_connections(self) -> int:
        """Connections the pools hold open right now, in use or idle (for /metrics)."""
        pools = [self.engine.pool] + ([self._sync.pool] if self._sync is not None else [])
        total = 0
        for pool in pools:
            # QueuePool knows both; other pools (StaticPool, NullPool) hold at most one.
            checked_in = getattr(pool, "checkedin", None)
            checked_out = getattr(pool, "checkedout", None)
            if callable(checked_in) and callable(checked_out):
                total += int(checked_in()) + int(checked_out())
        return total

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._sync is not None:
            self._write_thread.shutdown(wait=True)
            self._read_threads.shutdown(wait=True)
            self._sync.dispose()
            self._loop_writer.close()
            self._loop_reader.close()
            self._loop_engine.dispose()
        if self._memory_anchor is not None:
            self._memory_anchor.close()


def _in_transaction(engine: Engine, work: Work[T]) -> T:
    with engine.begin() as conn:
        return work(conn)


class _LoopConnection:
    """A connection of the loop's engine, kept open from one quick transaction to the next.

    Checking a connection out of the pool for each one (and resetting it on the way back)
    cost about as much CPU as the statements of a one-message write.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    def unless_locked(self, work: Work[T]) -> tuple[bool, T | None]:
        """(True, result) of the transaction; (False, None) when the database was locked, in
        which case the transaction rolled back and nothing was written."""
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            self.close()
            conn = self._conn = self._engine.connect()
        try:
            with conn.begin():
                return True, work(conn)
        except sa_exc.OperationalError as exc:
            code = getattr(exc.orig, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return False, None
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _checkpoint(engine: Engine) -> tuple[int, int, int] | None:
    """(busy, frames in the WAL, frames checkpointed), or None if it failed."""
    try:
        with engine.connect() as conn:
            row = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
            return int(row[0]), int(row[1]), int(row[2])
    except Exception:  # a missed checkpoint is retried after the next commits
        log.warning("WAL checkpoint failed", exc_info=True)
        return None


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` means "the database cannot be used right now" rather than a bug."""
    if isinstance(exc, OSError | ConnectionError | TimeoutError | asyncio.TimeoutError):
        return True
    if isinstance(exc, sa_exc.TimeoutError):  # no connection free in the pool in time
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        return _is_unavailable_driver_error(exc.orig)
    return _is_unavailable_driver_error(exc)


def _is_unavailable_driver_error(exc: BaseException | None) -> bool:
    if exc is None:
        return False
    name = type(exc).__name__
    # asyncpg's names for "the server went away / is starting or stopping".
    return name in {
        "ConnectionDoesNotExistError",
        "CannotConnectNowError",
        "ConnectionFailureError",
        "AdminShutdownError",
        "CrashShutdownError",
        "InterfaceError",
        "TooManyConnectionsError",
    }


def _shared_memory(url: str) -> tuple[str, sqlite3.Connection | None]:
    """An in-memory SQLite URL (sqlite+aiosqlite://) as one named shared-cache database, so
    that the async engine (migrations) and the thread pool (queries) see the same tables; the
    returned connection keeps it alive until dispose(). Other URLs pass unchanged."""
    parsed = make_url(url)
    if parsed.database not in (None, "", ":memory:"):
        return url, None
    name = f"file:chatkit-{uuid.uuid4().hex}?mode=memory&cache=shared"
    shared = parsed.set(database=name.split("?")[0], query={"mode": "memory", "cache": "shared"})
    shared = shared.update_query_dict({"uri": "true"})
    return shared.render_as_string(hide_password=False), sqlite3.connect(name, uri=True)


def _ensure_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"invalid setting database_url: cannot create folder {folder} ({exc.strerror})"
            ) from exc


def _install_sqlite_hooks(
    sync_engine: Engine, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, checkpoints: bool = True
) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        if not checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # The driver runs in autocommit mode (isolation_level=None); we say when a
        # transaction starts, and whether it will write. A single statement is a transaction
        # of its own already.
        # Prepared: one per transaction, so exec_driver_sql's execution context showed.
        options = conn.get_execution_options()
        if options.get(_WRITE):
            _BEGIN_IMMEDIATE.run(conn, {})
        elif not options.get(_ONE_STATEMENT):
            _BEGIN.run(conn, {})
