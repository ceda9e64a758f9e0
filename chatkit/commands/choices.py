"""The fixed sets of values command options take, as enums so that --help and shell
completion can list them (tests/test_cli_help.py checks they match the sets the code uses)."""

from __future__ import annotations

from enum import StrEnum


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class Transport(StrEnum):
    websocket = "websocket"
    polling = "polling"


class Theme(StrEnum):
    dark = "dark"
    light = "light"


class Notify(StrEnum):
    """As chatkit.tui.terminal.NotifyStyle (kept apart so that --help does not import
    Textual; tests/test_tui_command.py checks they agree)."""

    off = "off"
    osc9 = "osc9"
    osc777 = "osc777"
    bell = "bell"


class SessionStatus(StrEnum):
    scheduled = "scheduled"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


class NotificationStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    dropped = "dropped"


class BenchProfile(StrEnum):
    chat = "chat"
    burst = "burst"
    fanout = "fanout"
    connect_storm = "connect-storm"
    idle = "idle"
    history = "history"
    soak = "soak"


def value_of(choice: StrEnum | None) -> str | None:
    """The plain string behind an optional choice (settings and stores take strings)."""
    return None if choice is None else choice.value
