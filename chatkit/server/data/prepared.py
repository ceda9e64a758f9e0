"""Prepared statements for the hot write: compiled once, run on the transaction's DBAPI cursor.

`Connection.execute` costs ~30 µs of CPU per statement on top of the driver (an execution
context, the compiled-cache lookup, events, the result's set-up); SQLite itself takes ~10 µs
for the small statements of a one-message write, which runs four of them. `Prepared` keeps
what SQLAlchemy is good at and skips only that per-execution machinery: the SQL comes from
SQLAlchemy's compiler (once per dialect), values go through the column types' own bind and
result processors (so `UTCDateTime` behaves as everywhere else), and the statement runs on the
cursor of the same `Connection`, inside the transaction `Database.run_write` opened. Driver
errors are raised as SQLAlchemy's (`IntegrityError`, `OperationalError`, ...) exactly as
`Connection.execute` raises them, and a connection the driver reports as gone is invalidated.

No events fire and `echo` does not log these statements. Statements with expanding `IN`
parameters are not supported (their SQL depends on the values): use `Connection.execute`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy import exc as sa_exc
from sqlalchemy.sql import Insert, Select, TextClause, Update

Processor = Callable[[Any], Any] | None
Statement = Select[Any] | Insert | Update | TextClause


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the bound parameters, in the order the SQL takes them
    binds: tuple[Processor, ...]
    results: tuple[Processor, ...]  # one per selected column (empty for DML)


class Prepared:
    """A Core statement run with plain values: `rows(conn, params)`, `run(conn, params)`,
    `run_many(conn, rows)`. `params` must name every bound parameter (for an INSERT, every
    column in `columns` and any column with a Python-side default)."""

    def __init__(self, statement: Statement, *, columns: Sequence[str] | None = None) -> None:
        self._statement = statement
        self._columns = list(columns) if columns is not None else None
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run it; the rows it returned, with the column types' result processing."""
        compiled = self._for(conn.dialect)
        raw = self._execute(conn, compiled, [_values(compiled, params)], fetch=True)
        if not any(compiled.results):
            return [tuple(row) for row in raw]
        results = compiled.results
        return [
            tuple(value if p is None else p(value) for p, value in zip(results, row, strict=True))
            for row in raw
        ]

    def run(self, conn: Connection, params: Mapping[str, Any]) -> None:
        compiled = self._for(conn.dialect)
        self._execute(conn, compiled, [_values(compiled, params)], fetch=False)

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """One statement per row, as one `executemany` (one `execute` for a single row)."""
        if rows:
            compiled = self._for(conn.dialect)
            self._execute(conn, compiled, [_values(compiled, row) for row in rows], fetch=False)

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled: Any = self._statement.compile(dialect=dialect, column_keys=self._columns)
        if not compiled.positional:
            raise ValueError(f"Prepared needs a positional paramstyle, not {dialect.paramstyle}")
        names = tuple(compiled.positiontup)
        binds = tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        )
        results: tuple[Processor, ...] = ()
        if isinstance(self._statement, Select):
            results = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self._statement.selected_columns
            )
        return _Compiled(compiled.string, names, binds, results)

    @staticmethod
    def _execute(
        conn: Connection, compiled: _Compiled, values: list[tuple[Any, ...]], *, fetch: bool
    ) -> list[Any]:
        dbapi_connection = conn.connection.dbapi_connection
        assert dbapi_connection is not None
        cursor = dbapi_connection.cursor()
        try:
            if len(values) == 1:
                cursor.execute(compiled.sql, values[0])
            else:
                cursor.executemany(compiled.sql, values)
            return list(cursor.fetchall()) if fetch else []
        except conn.dialect.loaded_dbapi.Error as error:
            gone = conn.dialect.is_disconnect(error, dbapi_connection, cursor)
            if gone:
                conn.invalidate(error)
            raise sa_exc.DBAPIError.instance(
                compiled.sql,
                values if len(values) > 1 else values[0],
                error,
                conn.dialect.loaded_dbapi.Error,
                connection_invalidated=gone,
                dialect=conn.dialect,
            ) from error
        finally:
            cursor.close()


def _values(compiled: _Compiled, params: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(
        params[name] if process is None else process(params[name])
        for name, process in zip(compiled.names, compiled.binds, strict=True)
    )
