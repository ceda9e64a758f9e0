"""Search in the loaded history: `/` in an empty composer (or Ctrl+F) opens it; typing marks
every match and shows the newest; Enter goes to the next older one; Esc closes it."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from chatkit.tui.widgets.message_item import MessageItem
from chatkit.tui.widgets.message_log import MessageLog

HINT = "Enter older match · Esc close"


class SearchBar(Input):
    DEFAULT_CSS = """
    SearchBar {
        display: none;
        height: 3;
        border: round $warning;
        padding: 0 1;
    }
    SearchBar.-open { display: block; }
    """
    BINDINGS = [Binding("escape", "close", "Close search")]

    @dataclass
    class Closed(Message):
        bar: SearchBar

    def __init__(self, log: MessageLog, *, id: str | None = None) -> None:
        super().__init__(placeholder="Search the loaded messages", id=id)
        self.log_view = log
        self.border_subtitle = HINT
        self._matches: list[MessageItem] = []
        self._current = 0

    def open(self) -> None:
        self.add_class("-open")
        self.focus()

    def action_close(self) -> None:
        self.remove_class("-open")
        self.clear()
        self.log_view.search("")
        self._matches = []
        self.post_message(self.Closed(self))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._matches = self.log_view.search(event.value)
        self._current = len(self._matches) - 1  # the newest first
        self._show(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self._matches:
            return
        if self._current > 0:
            self._current -= 1
        else:
            self.app.bell()  # no older match among the loaded messages
        self._show(event.value)

    def _show(self, query: str) -> None:
        total = len(self._matches)
        if total:
            self.log_view.show_match(self._matches[self._current])
        if not query:
            self.border_subtitle = HINT
        elif not total:
            self.border_subtitle = "no match in the loaded messages · PageUp loads older"
        else:
            self.border_subtitle = f"{total - self._current} of {total} · {HINT}"
