"""The statement the stores use to update many rows by id in one executemany."""

from __future__ import annotations

from sqlalchemy import Table, Update, bindparam, update


def update_by_id(table: Table, *columns: str) -> Update:
    """`UPDATE table SET column = :b_column, ... WHERE id = :b_id`, to execute with one dict
    of `b_`-prefixed values per row (SQLAlchemy refuses a bind named like a column it sets)."""
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({column: bindparam(f"b_{column}") for column in columns})
    )
