"""A fresh, migrated database outside the per-test `database_url` fixture: for module-scoped
servers (fuzzers) and for tests that need several databases."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import backends


@contextlib.contextmanager
def fresh_database(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[str]:
    """Yield the URL of a new database copied from the session's migrated template."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = folder / f"chatkit-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"ck_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(
        backends.create_postgres_database(
            name, template=request.getfixturevalue("postgres_template")
        )
    )
    try:
        yield backends.postgres_url(name)
    finally:
        asyncio.run(backends.drop_postgres_database(name))
