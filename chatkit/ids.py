"""Identifiers: UUID strings, time-ordered (UUIDv7) where order matters."""

from __future__ import annotations

import uuid

import uuid_utils


def new_id() -> str:
    """A fresh UUIDv7: ids made later sort later as plain strings."""
    return str(uuid_utils.uuid7())


def id_after(previous: str | None) -> str:
    """A fresh UUIDv7 that sorts strictly after `previous`.

    Message ids must sort in send order within a conversation even when two processes (or a
    clock step back) produce ids in the same millisecond, so the successor of the previous id
    is used whenever the clock alone would not sort after it.
    """
    candidate = new_id()
    if previous is None or candidate > previous:
        return candidate
    return str(uuid.UUID(int=uuid.UUID(previous).int + 1))


def parse_uuid(value: object) -> str | None:
    """The canonical lowercase form of a UUID string, or None when it is not one."""
    if not isinstance(value, str) or not 32 <= len(value) <= 45:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
