"""The message composer: Enter sends, Shift+Enter or Ctrl+J inserts a new line. Near the
length limit a counter shows in the border; text over it is not sent."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import TextArea

NEWLINE_KEYS = ("shift+enter", "ctrl+j")
HINT = "Enter send · Ctrl+J new line"
# The counter shows from this share of the limit on: early enough to trim, quiet before.
COUNTER_FROM = 0.9


class Composer(TextArea):
    DEFAULT_CSS = """
    Composer {
        height: auto;
        min-height: 3;
        max-height: 8;
        border: round $primary 50%;
        padding: 0 1;
    }
    Composer:focus { border: round $primary; }
    Composer.-near-limit { border-subtitle-color: $warning; }
    Composer.-over-limit, Composer.-over-limit:focus {
        border: round $error;
        border-subtitle-color: $error;
        border-subtitle-style: bold;
    }
    """

    @dataclass
    class Submitted(Message):
        composer: Composer
        text: str

    @dataclass
    class SearchRequested(Message):
        """`/` typed into an empty composer."""

        composer: Composer

    def __init__(self, *, id: str | None = None, max_length: int = 4000) -> None:
        super().__init__(
            id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus", compact=False
        )
        self.max_length = max_length
        self.border_subtitle = HINT

    @property
    def length(self) -> int:
        """What the server counts: code points once surrounding whitespace is trimmed."""
        return len(self.text.strip())

    @property
    def too_long(self) -> bool:
        return self.length > self.max_length

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        # Not stopped: the screen also listens (typing, drafts).
        length = self.length
        near = length >= self.max_length * COUNTER_FROM
        self.set_class(near and not self.too_long, "-near-limit")
        self.set_class(self.too_long, "-over-limit")
        if self.too_long:
            over = length - self.max_length
            self.border_subtitle = f"{length:,} / {self.max_length:,} · {over:,} too many"
        elif near:
            self.border_subtitle = f"{length:,} / {self.max_length:,}"
        else:
            self.border_subtitle = HINT

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text.strip()
            if self.too_long:
                self.app.bell()
                self.notify(
                    f"{self.length:,} characters; the limit is {self.max_length:,}.",
                    title="Too long to send",
                    severity="warning",
                )
            elif text:
                self.post_message(self.Submitted(self, text))
                self.clear()
            return
        if event.character == "/" and not self.text:
            event.stop()
            event.prevent_default()
            self.post_message(self.SearchRequested(self))
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        await super()._on_key(event)
