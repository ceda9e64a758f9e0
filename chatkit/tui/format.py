"""How instants, sizes and previews read on screen."""

from __future__ import annotations

from datetime import datetime, tzinfo

STATUS_LABELS = {
    "scheduled": "scheduled",
    "in_progress": "in progress",
    "completed": "completed",
    "cancelled": "cancelled",
}


def local(instant: datetime, tz: tzinfo | None) -> datetime:
    return instant.astimezone(tz)


def message_time(instant: datetime, now: datetime, tz: tzinfo | None) -> str:
    """`14:05` today, `Tue 14:05` within a week, `15 Jan 14:05` this year, else with the year."""
    when, today = local(instant, tz), local(now, tz)
    days = (today.date() - when.date()).days
    if days == 0:
        return f"{when:%H:%M}"
    if 0 < days < 7:
        return f"{when:%a %H:%M}"
    if when.year == today.year:
        return f"{when.day} {when:%b %H:%M}"
    return f"{when.day} {when:%b %Y %H:%M}"


def session_line(start: datetime, status: str, now: datetime, tz: tzinfo | None) -> str:
    when, today = local(start, tz), local(now, tz)
    day = f"{when:%a} {when.day} {when:%b}"
    if when.year != today.year:
        day += f" {when.year}"
    return f"{day} {when:%H:%M} · {STATUS_LABELS.get(status, status)}"


def size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"  # pragma: no cover


def preview(text: str, width: int = 60) -> str:
    """One line: newlines folded, cut with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
