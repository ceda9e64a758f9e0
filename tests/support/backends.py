"""The databases tests run on. PostgreSQL is not optional: if it is selected and cannot be
reached the run fails loudly. Set CHATKIT_TEST_BACKENDS=sqlite to run on SQLite alone."""

from __future__ import annotations

import os
import uuid

import asyncpg
import pytest

from chatkit.server.data import migrate
from chatkit.server.data.database import Database

TEST_ENVIRONMENT = frozenset(
    {"CHATKIT_TEST_BACKENDS", "CHATKIT_TEST_POSTGRES", "CHATKIT_TEST_REDIS"}
)
POSTGRES = os.environ.get("CHATKIT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("CHATKIT_TEST_REDIS", "redis://127.0.0.1:6379/15")


def selected() -> list[str]:
    raw = os.environ.get("CHATKIT_TEST_BACKENDS", "sqlite,postgres")
    chosen = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = set(chosen) - {"sqlite", "postgres"}
    if unknown:
        raise pytest.UsageError(f"CHATKIT_TEST_BACKENDS: unknown backend(s) {sorted(unknown)}")
    return chosen


def postgres_url(database: str) -> str:
    return f"{POSTGRES.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{database}"


async def _admin_connection() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(f"{POSTGRES}/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL at {POSTGRES} is unreachable ({exc}). The suite runs on PostgreSQL "
            "as well as SQLite: start it (pg_ctlcluster ... main start) or set "
            "CHATKIT_TEST_BACKENDS=sqlite to run on SQLite only.",
            pytrace=False,
        )


async def migrate_url(url: str) -> None:
    database = Database(url)
    try:
        await migrate.upgrade(database)
    finally:
        await database.dispose()


async def create_postgres_template() -> str:
    name = f"ck_template_{uuid.uuid4().hex[:8]}"
    await create_postgres_database(name)
    await migrate_url(postgres_url(name))
    return name


async def create_postgres_database(name: str, *, template: str | None = None) -> None:
    connection = await _admin_connection()
    try:
        suffix = f' TEMPLATE "{template}"' if template else ""
        await connection.execute(f'CREATE DATABASE "{name}"{suffix}')
    finally:
        await connection.close()


async def drop_postgres_database(name: str) -> None:
    connection = await _admin_connection()
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
