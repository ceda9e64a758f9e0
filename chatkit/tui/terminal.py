"""What the TUI tells the terminal itself, outside the screen: the window title (with the
unread total) and, when asked for, desktop notifications.

Textual has no public call to write to the terminal, so the one private attribute this uses,
`App._driver` (its `write()`), is read here only; written against Textual 0.80 to 8.x, where
`App.bell()` does the same. Headless (tests), nothing is written, but what would have been is
kept in `sent`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from textual.app import App

# Control characters would end the sequence early or start another one.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class NotifyStyle(StrEnum):
    OFF = "off"
    OSC9 = "osc9"  # iTerm2, WezTerm, Windows Terminal, kitty, Ghostty
    OSC777 = "osc777"  # foot, rxvt-unicode, WezTerm, Ghostty, VTE-based terminals
    BELL = "bell"  # any terminal: an urgency hint or a sound, depending on its settings


def _clean(text: str, limit: int = 200) -> str:
    return _UNSAFE.sub(" ", text)[:limit]


class Terminal:
    def __init__(self, app: App[Any], notify: NotifyStyle = NotifyStyle.OFF) -> None:
        self._app = app
        self.notify_style = notify
        self.sent: list[str] = []
        self._title: str | None = None

    def _write(self, sequence: str) -> None:
        self.sent.append(sequence)
        driver = self._app._driver
        if not self._app.is_headless and driver is not None:
            driver.write(sequence)

    def set_title(self, title: str) -> None:
        if title != self._title:
            self._title = title
            self._write(f"\x1b]2;{_clean(title)}\x07")

    def save_title(self) -> None:
        """Push the terminal's own title (xterm's title stack), to give it back on exit."""
        self._write("\x1b[22;2t")

    def restore_title(self) -> None:
        self._write("\x1b[23;2t")

    def notify(self, title: str, body: str) -> None:
        style = self.notify_style
        if style is NotifyStyle.OSC9:
            self._write(f"\x1b]9;{_clean(title)}: {_clean(body)}\x07")
        elif style is NotifyStyle.OSC777:
            # `;` separates the fields of OSC 777.
            title, body = _clean(title).replace(";", ","), _clean(body).replace(";", ",")
            self._write(f"\x1b]777;notify;{title};{body}\x07")
        elif style is NotifyStyle.BELL:
            self._write("\x07")
