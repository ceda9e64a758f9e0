"""The key bindings, one keystroke away (F1 or ?)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# chatkit — keys

| Where | Key | Does |
|---|---|---|
| everywhere | **F1** or **?** | this help |
| | **Ctrl+T** | light / dark theme |
| | **Ctrl+O** | reconnect now |
| | **Ctrl+Q** | quit |
| conversations | **↑ ↓** | move |
| | **Enter** | open |
| | **r** | reload the list |
| conversation | **Enter** | send |
| | **Shift+Enter** or **Ctrl+J** | new line |
| | **PageUp / PageDown** | scroll; at the top older messages load |
| | **Ctrl+R** | retry failed messages |
| | **Esc** | back to the list |

Own messages show **◷ sending…**, **✓ sent**, **✓✓ read** (the other side has
seen it) or **✗ failed**. The bar at the bottom shows the connection:
connected, reconnecting or offline; after a reconnect the open conversation
catches up on what it missed.
"""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("f1", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(HELP)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
