"""Instants: stored as UTC, rendered as the contract's `2024-01-15T10:00:00.000Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(instant: datetime) -> str:
    """ISO-8601 in UTC with millisecond precision and a `Z` suffix."""
    if instant.tzinfo is not None and instant.utcoffset():
        instant = instant.astimezone(UTC)
    # By hand: strftime's %Y gives "999", not "0999", on glibc; %-formatting costs a third
    # of strftime and two thirds of an f-string here (this runs twice for every message).
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031
        instant.year,
        instant.month,
        instant.day,
        instant.hour,
        instant.minute,
        instant.second,
        instant.microsecond // 1000,
    )


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant; one without an offset is taken as UTC.

    Raises ValueError for anything that is not a real instant.
    """
    if not isinstance(text, str) or len(text) < 10 or len(text) > 40:
        raise ValueError("not an ISO-8601 instant")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is a year-0 instant in UTC
        raise ValueError("the instant is outside the years 1 to 9999 in UTC") from None
