"""Shared fixtures: real databases (SQLite and PostgreSQL), a real server on a free port,
real HTTP and Socket.IO clients. Nothing of chatkit's own is mocked."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from chatkit.config import Settings
from tests.support import backends
from tests.support.api import Api
from tests.support.server import RunningServer, running_server

SQLITE_TEMPLATE_NAME = "template.db"


def _selected_backends() -> list[str]:
    return backends.selected()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating from scratch is slower)."""
    path = tmp_path_factory.mktemp("sqlite-template") / SQLITE_TEMPLATE_NAME
    asyncio.run(backends.migrate_url(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    name = asyncio.run(backends.create_postgres_template())
    yield name
    asyncio.run(backends.drop_postgres_database(name))


@pytest.fixture(params=_selected_backends())
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A fresh, migrated database per test, on each selected backend."""
    if request.param == "sqlite":
        path = tmp_path / "chatkit.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"ck_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(backends.create_postgres_database(name, template=template))
    try:
        yield backends.postgres_url(name)
    finally:
        asyncio.run(backends.drop_postgres_database(name))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": "test-secret-0123456789-abcdefghij",
        "secret_file": tmp_path / "chatkit.secret",
        "host": "127.0.0.1",
        "port": 0,
        "notify_delay": 3600.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with running_server(settings) as running:
        yield running


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[Api]:
    async with Api(server) as client:
        yield client


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes chatkit.toml, chatkit.db or chatkit.secret in the checkout."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("CHATKIT_") and key not in backends.TEST_ENVIRONMENT:
            monkeypatch.delenv(key)
