"""What the stores of rows found by their id share: `get`, `require` with its 404, and the
insert-or-update of an upsert."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Connection, Table, update

from chatkit.server.data.database import Database
from chatkit.server.errors import NotFound

R = TypeVar("R")


class KeyedStore(Generic[R]):
    """A store of one table's rows, each found by its id. A subclass names its table and its
    rows (`noun`, which the 404 says) and reads one (`_find`)."""

    table: ClassVar[Table]
    noun: ClassVar[str]

    def __init__(self, database: Database) -> None:
        self._db = database

    def _find(self, conn: Connection, key: str) -> R | None:
        raise NotImplementedError

    def _written(self, conn: Connection, key: str) -> R:
        """The row just inserted or updated in this transaction."""
        record = self._find(conn, key)
        assert record is not None
        return record

    def _put(
        self,
        conn: Connection,
        key: str,
        values: dict[str, Any],
        *,
        exists: bool,
        now: datetime,
        **on_create: Any,
    ) -> None:
        """Update the row's values, or insert it with them (and `on_create`); either way
        `updated_at` is now, and `created_at` too for a new row."""
        table = self.table
        if exists:
            conn.execute(update(table).where(table.c.id == key).values(**values, updated_at=now))
        else:
            conn.execute(
                table.insert().values(id=key, **values, **on_create, created_at=now, updated_at=now)
            )

    def _missing(self, key: str) -> NotFound:
        return NotFound(f"no {self.noun} {key}", code=f"{self.noun}_not_found")

    async def get(self, key: str) -> R | None:
        return await self._db.run_read(lambda conn: self._find(conn, key))

    async def require(self, key: str) -> R:
        record = await self.get(key)
        if record is None:
            raise self._missing(key)
        return record
