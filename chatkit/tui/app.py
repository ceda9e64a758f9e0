"""ChatApp and `make_app(options)`: the app owns the clients, the model of conversations and
the outbox; screens render it and ask the app to act. Everything goes through the public API
(`ApiClient`, `RealtimeClient`); realtime events are posted into Textual's message queue, so
the model is only ever touched from the app's own event loop."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message as TextualMessage
from textual.reactive import reactive
from textual.timer import Timer

from chatkit.client import (
    ApiClient,
    ClientError,
    ConnectionEvent,
    ConnectionState,
    ConnectionStatus,
    Conversation,
    Event,
    LastMessage,
    Message,
    NewMessageEvent,
    ReadEvent,
    RealtimeClient,
    TokenSource,
    TypingEvent,
    Unreachable,
    token_subject,
)
from chatkit.tui import changes
from chatkit.tui.format import preview
from chatkit.tui.local_state import LocalState, Unsent, state_file
from chatkit.tui.options import TuiOptions
from chatkit.tui.outbox import Outbox
from chatkit.tui.terminal import NotifyStyle, Terminal

if TYPE_CHECKING:  # the screens import the app; at runtime they are imported where used
    from chatkit.tui.screens.conversation import ConversationScreen

CSS_FILE = Path(__file__).with_name("chatkit.tcss")
THEMES = {"dark": "textual-dark", "light": "textual-light"}


class RealtimeArrived(TextualMessage):
    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class ChatApp(App[None]):
    CSS_PATH = str(CSS_FILE)
    TITLE = "chatkit"
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("ctrl+t", "toggle_theme", "Theme"),
        Binding("ctrl+o", "reconnect", "Reconnect", show=False),
    ]

    connection: reactive[ConnectionStatus] = reactive(
        ConnectionStatus(ConnectionState.CONNECTING), always_update=True
    )

    def __init__(self, options: TuiOptions) -> None:
        super().__init__()
        self.options = options
        self.api: ApiClient | None = None
        self.realtime: RealtimeClient | None = None
        self.me = ""
        self.me_name = ""
        self.conversations: dict[str, Conversation] = {}
        self.read_upto: dict[str, str] = {}  # newest id of mine the other side has seen
        self.typing: dict[str, str] = {}  # conversation id → who is typing there
        self._typing_timers: dict[str, Timer] = {}
        self.loaded = False
        self.list_failed = False  # the last load of the list failed: retried on reconnect
        self.local = LocalState()
        self.outbox: Outbox | None = None
        self.terminal = Terminal(self, NotifyStyle(options.notify))

    # --- start-up ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.theme = THEMES.get(self.options.theme, self.options.theme)
        self.terminal.save_title()
        self.terminal.set_title(self.TITLE)
        if self.options.token is not None:
            self.sign_in(self.options.token)
        else:
            from chatkit.tui.screens.pick_user import PickUserScreen

            self.push_screen(PickUserScreen(self.options.choices))

    def sign_in(self, token: TokenSource, name: str = "") -> None:
        from chatkit.tui.screens.conversations import ConversationsScreen

        self.me = token_subject(token) or ""
        self.me_name = name
        self.api = ApiClient(self.options.url, token)
        self.realtime = RealtimeClient(
            self.api, backoff=self.options.backoff, probe_interval=self.options.probe_interval
        )
        data_dir = self.options.data_dir
        self.local = LocalState(
            state_file(data_dir, self.options.url, self.me) if data_dir is not None else None
        )
        self.outbox = Outbox(
            self.api, self.local, changed=self._unsent_changed, sent=self._unsent_sent
        )
        for kind in (NewMessageEvent, TypingEvent, ReadEvent, ConnectionEvent, *changes.EVENTS):
            self.realtime.on(kind, self._relay)
        self.push_screen(ConversationsScreen())
        self.realtime.start()
        self.load_conversations()

    async def on_unmount(self) -> None:
        self.local.save()
        self.terminal.restore_title()
        if self.realtime is not None:
            await self.realtime.close()
        if self.api is not None:
            await self.api.close()

    def now(self) -> datetime:
        return self.options.now()

    # --- the model --------------------------------------------------------------------------

    def sorted_conversations(self) -> list[Conversation]:
        return sorted(
            self.conversations.values(),
            key=lambda c: (c.updated_at, c.last_message.id if c.last_message else ""),
            reverse=True,
        )

    def participant_name(self, conversation_id: str, user_id: str, own: str = "You") -> str:
        conversation = self.conversations.get(conversation_id)
        if user_id == self.me and own:
            return own
        if conversation is None:
            return "Someone"
        for person in (conversation.mentor, conversation.mentee):
            if person.id == user_id:
                return person.full_name
        return "Someone"

    @work(exclusive=True, group="conversations")
    async def load_conversations(self) -> None:
        assert self.api is not None and self.realtime is not None
        try:
            fresh = [c async for c in self.api.all_conversations()]
        except ClientError as exc:
            self.list_failed = True
            self.notify(str(exc), title="Cannot load conversations", severity="error")
            return
        self.list_failed = False
        open_id = self.open_conversation_id
        self.conversations = {}
        for conversation in fresh:
            if conversation.id == open_id and conversation.unread_count:
                conversation = dataclasses.replace(conversation, unread_count=0)
                self.mark_read(conversation.id)
            self.conversations[conversation.id] = conversation
            last = conversation.last_message
            self.realtime.track(conversation.id, last.id if last else None)
        self.loaded = True
        if not self.me_name and fresh:
            # Signed in with a bare token: learn our own name from a conversation.
            self.me_name = self.participant_name(fresh[0].id, self.me, own="")
            self.connection = self.connection  # redraw the bars with the name
        self.refresh_views()

    @work(exclusive=True, group="one-conversation")
    async def fetch_conversation(self, conversation_id: str) -> None:
        """A conversation we did not know yet (created after the list was loaded)."""
        assert self.api is not None
        try:
            conversation = await self.api.conversation(conversation_id)
        except ClientError:
            return
        self.conversations[conversation.id] = conversation
        self.refresh_views()

    @work(exclusive=True, group="mark-read")
    async def mark_read(self, conversation_id: str) -> None:
        assert self.api is not None
        try:
            await self.api.mark_read(conversation_id)
        except Unreachable:
            return  # the bar says so; the reload after the reconnect marks it read
        except ClientError as exc:
            self.notify(str(exc), title="Cannot mark as read", severity="warning")
            return
        conversation = self.conversations.get(conversation_id)
        if conversation is not None and conversation.unread_count:
            self.conversations[conversation_id] = dataclasses.replace(conversation, unread_count=0)
            self.refresh_views()

    @property
    def open_conversation_id(self) -> str | None:
        screen = self._conversation_screen()
        return screen.conversation_id if screen is not None else None

    def _conversation_screen(self, conversation_id: str | None = None) -> ConversationScreen | None:
        from chatkit.tui.screens.conversation import ConversationScreen

        for screen in reversed(self.screen_stack):
            if isinstance(screen, ConversationScreen) and (
                conversation_id is None or screen.conversation_id == conversation_id
            ):
                return screen
        return None

    def refresh_views(self) -> None:
        from chatkit.tui.screens.conversations import ConversationsScreen

        for screen in self.screen_stack:
            if isinstance(screen, ConversationsScreen):
                screen.refresh_list()
        unread = sum(c.unread_count for c in self.conversations.values())
        self.terminal.set_title(f"{self.TITLE} ({unread} unread)" if unread else self.TITLE)

    def open_conversation(self, conversation_id: str) -> None:
        from chatkit.tui.screens.conversation import ConversationScreen

        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            return
        self.push_screen(ConversationScreen(conversation))
        if conversation.unread_count:
            self.conversations[conversation_id] = dataclasses.replace(conversation, unread_count=0)
            self.refresh_views()
        # Opening marks read even at 0 unread: the other side's receipts depend on it.
        self.mark_read(conversation_id)

    def note_read_by_other(self, conversation_id: str, message_id: str) -> None:
        current = self.read_upto.get(conversation_id)
        if current is None or message_id > current:
            self.read_upto[conversation_id] = message_id
        screen = self._conversation_screen(conversation_id)
        if screen is not None:
            screen.show_read_upto(self.read_upto[conversation_id])

    # --- realtime ---------------------------------------------------------------------------

    def _relay(self, event: Event) -> None:
        self.post_message(RealtimeArrived(event))

    async def on_realtime_arrived(self, message: RealtimeArrived) -> None:
        event = message.event
        if isinstance(event, NewMessageEvent):
            await self.message_arrived(event.message)
            if not event.catch_up:
                self._notify_elsewhere(event.message)
        elif isinstance(event, TypingEvent):
            if event.user_id != self.me:
                self.set_typing(event.conversation_id, event.user_id, event.is_typing)
        elif isinstance(event, ReadEvent):
            self._read(event)
        elif isinstance(event, ConnectionEvent):
            self._connection_changed(event.status)
        elif isinstance(event, changes.EVENTS):
            changes.show(self, event)

    def _notify_elsewhere(self, message: Message) -> None:
        """A desktop notification (when asked for) for a message the user is not looking at."""
        if message.sender_id == self.me or message.conversation_id == self.open_conversation_id:
            return
        who = self.participant_name(message.conversation_id, message.sender_id)
        self.terminal.notify(f"{who} · chatkit", preview(message.content, 120))

    async def message_arrived(self, message: Message) -> None:
        """A message from the socket (live or catch-up) or the answer to our own send."""
        conversation_id = message.conversation_id
        conversation = self.conversations.get(conversation_id)
        if message.sender_id != self.me:
            self.set_typing(conversation_id, message.sender_id, False)
            # A reply means they saw ours: the history's rule (docs/tui.md), applied live.
            self.note_read_by_other(conversation_id, message.id)
        screen = self._conversation_screen(conversation_id)
        if screen is not None:
            await screen.add_message(message)
        if conversation is None:
            if self.loaded:
                self.fetch_conversation(conversation_id)
            return
        last = conversation.last_message
        if last is not None and message.id <= last.id:
            return  # the list already counts it
        unread = conversation.unread_count
        if message.sender_id != self.me:
            if screen is not None:
                self.mark_read(conversation_id)
            else:
                unread += 1
        self.conversations[conversation_id] = dataclasses.replace(
            conversation,
            last_message=LastMessage(
                message.id, message.content, message.created_at, message.sender_id
            ),
            updated_at=message.created_at,
            unread_count=unread,
        )
        self.refresh_views()

    def _read(self, event: ReadEvent) -> None:
        receipt = event.receipt
        conversation = self.conversations.get(receipt.conversation_id)
        if conversation is None:
            return
        if receipt.read_by == self.me:
            # Read here or in another tab of ours.
            if conversation.unread_count:
                self.conversations[conversation.id] = dataclasses.replace(
                    conversation, unread_count=0
                )
                self.refresh_views()
        elif conversation.last_message is not None:
            # Events arrive in commit order, so the other side has read everything up to the
            # newest message we have seen.
            self.note_read_by_other(conversation.id, conversation.last_message.id)

    def _connection_changed(self, status: ConnectionStatus) -> None:
        was = self.connection.state
        self.connection = status
        if status.state is not ConnectionState.CONNECTED:
            for conversation_id in list(self.typing):
                self.set_typing(conversation_id, None, False)
        elif status.live and was is ConnectionState.CONNECTED:
            # Caught up after a (re)connect: unread counts may have moved while away, and what
            # could not load while the server was away can load now.
            if self.loaded or self.list_failed:
                self.load_conversations()
            screen = self._conversation_screen()
            if screen is not None and not screen.history_loaded.is_set():
                screen.load_history()

    def set_typing(self, conversation_id: str, user_id: str | None, is_typing: bool) -> None:
        timer = self._typing_timers.pop(conversation_id, None)
        if timer is not None:
            timer.stop()
        if is_typing and user_id is not None:
            self.typing[conversation_id] = self.participant_name(conversation_id, user_id)
            self._typing_timers[conversation_id] = self.set_timer(
                self.options.typing_timeout,
                lambda: self.set_typing(conversation_id, None, False),
            )
        elif self.typing.pop(conversation_id, None) is None:
            return
        screen = self._conversation_screen(conversation_id)
        if screen is not None:
            screen.show_typing(self.typing.get(conversation_id))
        self.refresh_views()

    # --- sending ----------------------------------------------------------------------------

    def deliver(self, conversation_id: str, entry: Unsent) -> None:
        """Send an outbox entry (new, or retried)."""
        assert self.outbox is not None
        # On the app, not the screen: leaving the screen must not cancel a send in flight.
        self.run_worker(self.outbox.deliver(conversation_id, entry), group="send")

    def _unsent_changed(self, conversation_id: str, entry: Unsent) -> None:
        screen = self._conversation_screen(conversation_id)
        if screen is not None:
            screen.show_unsent(entry)
        self.refresh_views()  # the list counts what is not sent

    async def _unsent_sent(self, conversation_id: str, entry: Unsent, message: Message) -> None:
        screen = self._conversation_screen(conversation_id)
        if screen is not None:
            await screen.show_sent(entry, message)
        await self.message_arrived(message)

    # --- actions ----------------------------------------------------------------------------

    def action_help(self) -> None:
        from chatkit.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_reconnect(self) -> None:
        if self.realtime is not None:
            self.realtime.reconnect_now()


def make_app(options: TuiOptions) -> ChatApp:
    """The app, ready to `run()` or to drive with `run_test()`."""
    return ChatApp(options)
