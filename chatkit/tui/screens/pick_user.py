"""`chatkit tui` with no token: pick one of the demo users (tokens are minted locally)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from chatkit.tui.app import ChatApp
    from chatkit.tui.options import UserChoice


class PickUserScreen(Screen[None]):
    DEFAULT_CSS = """
    PickUserScreen #intro { padding: 1 2; }
    PickUserScreen OptionList { height: auto; max-height: 1fr; margin: 0 2; }
    """
    BINDINGS = [Binding("q", "app.quit", "Quit")]

    def __init__(self, choices: Sequence[UserChoice]) -> None:
        super().__init__()
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        yield Header()
        if self.choices:
            intro = "Sign in as which demo user? (↑ ↓ then Enter)"
        else:
            intro = (
                "No token. Run `chatkit demo` next to the server first, or start with "
                "--token T, --user ID or CHATKIT_TOKEN."
            )
        yield Static(intro, id="intro")
        yield OptionList(
            *[
                Option(Text.assemble((c.name, "bold"), f"  {c.role}", style=""), id=str(i))
                for i, c in enumerate(self.choices)
            ]
        )
        yield Footer()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        choice = self.choices[int(event.option.id or 0)]
        chat: ChatApp = self.app  # type: ignore[assignment]
        self.dismiss()
        chat.sign_in(choice.token, choice.name)
