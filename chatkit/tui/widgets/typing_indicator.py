"""“Ada is typing…” under the message log; empty (and zero height) otherwise."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static


class TypingIndicator(Static):
    DEFAULT_CSS = """
    TypingIndicator {
        height: auto;
        padding: 0 2;
        color: $text-muted;
        text-style: italic;
    }
    """

    who: reactive[str | None] = reactive(None)

    def watch_who(self, who: str | None) -> None:
        self.display = who is not None
        self.update(f"{who} is typing…" if who else "")
