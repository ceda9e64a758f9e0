"""The key bindings, one keystroke away (F1, or ? outside the composer)."""

from __future__ import annotations

from rich import box
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("everywhere", "F1  ?", "this help (? outside the composer)"),
    ("", "Ctrl+T", "light / dark theme"),
    ("", "Ctrl+O", "reconnect now"),
    ("", "Ctrl+Q", "quit"),
    ("conversations", "↑ ↓  Enter", "move, open"),
    ("", "r", "reload the list"),
    ("conversation", "Enter", "send"),
    ("", "Shift+Enter  Ctrl+J", "new line"),
    ("", "PageUp PageDown", "scroll; at the top, load older"),
    ("", "Ctrl+R", "retry failed, edit refused"),
    ("", "Ctrl+G", "discard failed and refused"),
    ("", "/  Ctrl+F", "search (/ in an empty composer)"),
    ("", "Esc", "back to the list, draft kept"),
)

LEGEND = (
    "Your messages: ◷ sending…  ✓ sent  ✓✓ read  ✗ failed  ✗ refused.\n"
    "The bar above the footer shows the connection (connected, reconnecting, offline); "
    "after a reconnect the open conversation catches up on what it missed."
)


def keys_table() -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, pad_edge=False)
    table.add_column("Where", style="dim", no_wrap=True)
    table.add_column("Key", style="bold", no_wrap=True)
    table.add_column("Does")
    for row in KEYS:
        table.add_row(*row)
    return table


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        border-title-align: center;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen #legend { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("f1", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll() as frame:
            frame.border_title = "chatkit — keys"
            frame.border_subtitle = "Esc closes"
            yield Static(keys_table())
            yield Static(LEGEND, id="legend")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
