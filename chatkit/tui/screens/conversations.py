"""The home screen: every conversation, newest first, updated live."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, OptionList, Static

from chatkit.tui.widgets.connection_bar import ConnectionBar
from chatkit.tui.widgets.conversation_list import ConversationList

if TYPE_CHECKING:
    from chatkit.tui.app import ChatApp


class ConversationsScreen(Screen[None]):
    DEFAULT_CSS = """
    ConversationsScreen #title { padding: 0 1; height: 1; color: $text-muted; }
    ConversationsScreen #empty { padding: 1 2; color: $text-muted; }
    """
    BINDINGS = [
        Binding("enter", "open", "Open", show=True),
        Binding("r", "refresh", "Refresh"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._resort: Timer | None = None

    @property
    def chat(self) -> ChatApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Conversations", id="title")
        yield ConversationList(id="conversations", settle=self.chat.options.list_settle)
        yield Static("Loading conversations…", id="empty")
        yield ConnectionBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ConversationList).focus()
        self.refresh_list()

    def on_screen_resume(self) -> None:
        self.refresh_list()

    def refresh_list(self) -> None:
        chat = self.chat
        conversations = chat.sorted_conversations()
        listing = self.query_one(ConversationList)
        listing.show(
            conversations,
            me=chat.me,
            now=chat.now(),
            tz=chat.options.tz,
            typing=set(chat.typing),
            drafts=chat.local.drafts(),
            unsent=chat.local.not_sent_counts(),
        )
        wait = listing.unsettled_for
        if wait > 0 and listing.conversation_ids != [c.id for c in conversations]:
            # Held while the reader moves; sorted once they pause.
            if self._resort is not None:
                self._resort.stop()
            self._resort = self.set_timer(wait + 0.01, self.refresh_list)
        unread = sum(c.unread_count for c in conversations)
        title = f"Conversations ({len(conversations)})"
        if unread:
            title += f" · {unread} unread"
        self.query_one("#title", Static).update(title)
        empty = self.query_one("#empty", Static)
        empty.display = not conversations
        empty.update("Loading conversations…" if not chat.loaded else "No conversations yet.")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.chat.open_conversation(event.option.id)

    def action_open(self) -> None:
        chosen = self.query_one(ConversationList).highlighted_id
        if chosen is not None:
            self.chat.open_conversation(chosen)

    def action_refresh(self) -> None:
        self.chat.load_conversations()
