"""One conversation: history newest-at-bottom, live messages, composer, typing, receipts."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from chatkit.client import ClientError, Conversation, Message
from chatkit.tui.changes import Change, peer_line, show_in_log
from chatkit.tui.local_state import Unsent, UnsentState
from chatkit.tui.widgets.composer import Composer
from chatkit.tui.widgets.connection_bar import ConnectionBar
from chatkit.tui.widgets.message_item import Delivery, MessageItem
from chatkit.tui.widgets.message_log import MessageLog
from chatkit.tui.widgets.search_bar import SearchBar
from chatkit.tui.widgets.typing_indicator import TypingIndicator

if TYPE_CHECKING:
    from chatkit.tui.app import ChatApp


DRAFT_SAVE_DELAY = 1.0


class ConversationScreen(Screen[None]):
    DEFAULT_CSS = """
    ConversationScreen #peer {
        height: 1;
        padding: 0 1;
        background: $primary 20%;
        text-style: bold;
    }
    """
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+r", "retry", "Retry failed"),
        Binding("ctrl+g", "discard", "Discard failed", show=False),
        Binding("ctrl+f", "search", "Search", show=False),
        # Priority: the composer (a TextArea) would otherwise take them for its own cursor.
        Binding("pageup", "page_up", "Older", show=False, priority=True),
        Binding("pagedown", "page_down", "Newer", show=False, priority=True),
    ]

    def __init__(self, conversation: Conversation) -> None:
        super().__init__()
        self.conversation = conversation
        self.conversation_id = conversation.id
        self.has_more = True
        self.loading_older = False
        self.history_loaded = asyncio.Event()
        self._typing_sent_at: float | None = None
        self._typing_idle: Timer | None = None
        self._draft_saver: Timer | None = None
        self._put: str | None = None
        # As it was when opened (opening marks it read): where "New messages" goes.
        self._unread_left = conversation.unread_count

    @property
    def chat(self) -> ChatApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(peer_line(self.conversation, self.chat), id="peer")
        log = MessageLog(id="log")
        yield log
        yield TypingIndicator(id="typing")
        yield SearchBar(log, id="search")
        yield Composer(id="composer", max_length=self.chat.options.max_length)
        yield ConnectionBar()
        yield Footer()

    async def on_mount(self) -> None:
        chat = self.chat
        self.query_one(TypingIndicator).who = chat.typing.get(self.conversation_id)
        self._put_text(chat.local.draft(self.conversation_id))
        # What is not sent yet shows at once, history or not; stored messages go above it.
        await self.log_view.append_items(
            [self._unsent_item(e) for e in chat.local.unsent(self.conversation_id)]
        )
        self.load_history()

    def apply(self, event: Change) -> None:
        """An edit, a deletion or someone's presence: show it as it is now."""
        self.conversation = self.chat.conversations.get(self.conversation_id, self.conversation)
        for peer in self.query("#peer").results(Static):  # none before it is composed
            peer.update(peer_line(self.conversation, self.chat))
        show_in_log(self.log_view, event)

    @property
    def log_view(self) -> MessageLog:
        return self.query_one(MessageLog)

    # --- history ----------------------------------------------------------------------------

    def _item(self, message: Message) -> MessageItem:
        chat = self.chat
        mine = message.sender_id == chat.me
        read_upto = chat.read_upto.get(self.conversation_id)
        delivery = Delivery.SENT
        if mine and read_upto is not None and message.id <= read_upto:
            delivery = Delivery.READ
        return MessageItem(
            sender=chat.participant_name(self.conversation_id, message.sender_id),
            mine=mine,
            now=chat.now(),
            tz=chat.options.tz,
            message=message,
            delivery=delivery,
        )

    def _unsent_item(self, entry: Unsent) -> MessageItem:
        chat = self.chat
        return MessageItem(
            sender="You",
            mine=True,
            now=chat.now(),
            tz=chat.options.tz,
            text=entry.text,
            client_message_id=entry.client_message_id,
            delivery=Delivery(entry.state.value),
            reason=entry.reason,
        )

    def _delivery(self, message_id: str) -> Delivery:
        read_upto = self.chat.read_upto.get(self.conversation_id)
        return Delivery.READ if read_upto is not None and message_id <= read_upto else Delivery.SENT

    def _infer_read(self, messages: tuple[Message, ...]) -> None:
        """A reply from the other side means they have seen everything before it."""
        theirs = [m.id for m in messages if m.sender_id != self.chat.me]
        if theirs:
            self.chat.note_read_by_other(self.conversation_id, max(theirs))

    @work(exclusive=True, group="history")
    async def load_history(self) -> None:
        chat = self.chat
        assert chat.api is not None and chat.realtime is not None
        try:
            page = await chat.api.messages(self.conversation_id, limit=chat.options.page_size)
        except ClientError as exc:
            self.notify(str(exc), title="Cannot load messages", severity="error")
            return
        self._infer_read(page.messages)
        await self.log_view.add_stored(self._new_items(page.messages))
        self.has_more = page.has_more
        if not page.has_more:
            await self._mark_beginning()
        newest = self.log_view.newest_id
        chat.realtime.track(self.conversation_id, newest)
        self.log_view.scroll_end(animate=False, immediate=True)
        await self._mark_first_unread(page.messages, show=True)
        self.history_loaded.set()
        self.call_after_refresh(self._fill_viewport)

    async def _mark_first_unread(self, messages: tuple[Message, ...], *, show: bool) -> None:
        """Pages come newest first; `_unread_left` counts down the unread not yet seen in a
        page until the page holding the first unread one."""
        theirs = [m for m in messages if m.sender_id != self.chat.me]
        left = self._unread_left
        if not left or not theirs:
            return
        if left > len(theirs):
            self._unread_left -= len(theirs)
            return
        self._unread_left = 0
        divider = await self.log_view.mark_first_unread(theirs[-left].id)
        if divider is not None and show:
            self.call_after_refresh(self._show_from, divider)

    def _show_from(self, divider: Static) -> None:
        # More unread than fit: read them from the first, not from the last.
        log = self.log_view
        if divider.region.y < log.region.y:
            log.scroll_to_widget(divider, top=True, animate=False, immediate=True)

    def _fill_viewport(self) -> None:
        # A short first page leaves nothing to scroll, so the top is never "reached".
        if self.has_more and self.log_view.max_scroll_y == 0:
            self.load_older()

    async def _mark_beginning(self) -> None:
        log = self.log_view
        if not log.query(".history-edge"):
            edge = Static("— the beginning of the conversation —", classes="history-edge")
            first = next(iter(log.query(MessageItem)), None)
            await log.mount(edge, before=first) if first is not None else await log.mount(edge)

    def on_message_log_near_top(self, event: MessageLog.NearTop) -> None:
        if self.has_more:
            self.load_older()

    @work(exclusive=True, group="older")
    async def load_older(self) -> None:
        chat = self.chat
        assert chat.api is not None
        await self.history_loaded.wait()
        oldest = self.log_view.oldest_id
        if not self.has_more or oldest is None or self.loading_older:
            return
        self.loading_older = True
        try:
            page = await chat.api.messages(
                self.conversation_id, limit=chat.options.page_size, before=oldest
            )
        except ClientError as exc:
            self.notify(str(exc), title="Cannot load older messages", severity="error")
            return
        finally:
            self.loading_older = False
        self._infer_read(page.messages)
        await self.log_view.prepend_items([self._item(m) for m in page.messages])
        await self._mark_first_unread(page.messages, show=False)
        self.has_more = page.has_more
        if not page.has_more:
            await self._mark_beginning()
        self.call_after_refresh(self._fill_viewport)

    # --- live -------------------------------------------------------------------------------

    async def add_message(self, message: Message) -> None:
        """A message from the socket (live or catch-up) or from our own send."""
        await self.log_view.add_stored(self._new_items((message,)))

    def _new_items(self, messages: tuple[Message, ...]) -> list[MessageItem]:
        """Items for the messages not shown yet; one of ours still shown as unsent (its
        answer not in yet, when the history or the socket brings it first) is resolved."""
        log = self.log_view
        fresh = []
        for message in messages:
            if log.item_for(message.id) is not None:
                continue
            pending = (
                log.pending_item(message.client_message_id)
                if message.sender_id == self.chat.me and message.client_message_id
                else None
            )
            if pending is not None and message.client_message_id:
                # Stored after all (an answer lost, or not in yet): nothing left to send.
                self.chat.local.remove(self.conversation_id, message.client_message_id)
                self._resolve(pending, message)
            else:
                fresh.append(self._item(message))
        return fresh

    def _resolve(self, item: MessageItem, message: Message) -> None:
        log = self.log_view
        item.set_delivery(self._delivery(message.id), message)
        if item.client_message_id is not None:
            log.resolve_pending(item.client_message_id, message.id)
        log.put_in_order(item)

    def show_typing(self, who: str | None) -> None:
        self.query_one(TypingIndicator).who = who

    def show_read_upto(self, message_id: str) -> None:
        self.log_view.mark_read_upto(message_id)

    # --- sending ----------------------------------------------------------------------------

    async def on_composer_submitted(self, event: Composer.Submitted) -> None:
        chat = self.chat
        self._stop_typing()
        assert chat.outbox is not None
        entry = chat.outbox.write(self.conversation_id, event.text)
        chat.local.set_draft(self.conversation_id, "")
        # Shown before it is sent, so that its answer always finds it.
        await self.log_view.append_items([self._unsent_item(entry)])
        self.log_view.scroll_end(animate=False)
        chat.deliver(self.conversation_id, entry)

    def show_unsent(self, entry: Unsent) -> None:
        """A message not sent yet changed state (failed, refused, or pending again)."""
        item = self.log_view.pending_item(entry.client_message_id)
        if item is None:
            return
        item.set_delivery(Delivery(entry.state.value), reason=entry.reason)
        if entry.state is UnsentState.FAILED:
            self.notify(entry.reason, title="Not sent (Ctrl+R retries)", severity="error")
        elif entry.state is UnsentState.REFUSED:
            self.notify(entry.reason, title="Refused (Ctrl+R to edit it)", severity="error")

    async def show_sent(self, entry: Unsent, message: Message) -> None:
        log = self.log_view
        item = log.pending_item(entry.client_message_id) or log.item_for(message.id)
        if item is not None and item.delivery is not Delivery.READ:
            self._resolve(item, message)

    async def action_retry(self) -> None:
        chat = self.chat
        assert chat.outbox is not None
        for entry in chat.outbox.retry(self.conversation_id):
            chat.deliver(self.conversation_id, entry)
        refused = chat.outbox.take_refused(self.conversation_id)
        if not refused:
            return
        for entry in refused:
            item = self.log_view.pending_item(entry.client_message_id)
            if item is not None:
                await self.log_view.remove_item(item)
        # No retry can change a refusal: the text goes back to be edited, before any draft.
        composer = self.query_one(Composer)
        texts = [entry.text for entry in refused] + [composer.text.strip()]
        self._put_text("\n\n".join(t for t in texts if t))

    def _put_text(self, text: str) -> None:
        """Fill the composer (a draft, a refused message): not typing, so nothing is sent."""
        composer = self.query_one(Composer)
        self._put = text
        composer.load_text(text)
        composer.move_cursor(composer.document.end)
        composer.focus()

    async def action_discard(self) -> None:
        chat = self.chat
        assert chat.outbox is not None
        for entry in chat.outbox.discard(self.conversation_id):
            item = self.log_view.pending_item(entry.client_message_id)
            if item is not None:
                await self.log_view.remove_item(item)

    # --- search -----------------------------------------------------------------------------

    def on_composer_search_requested(self, event: Composer.SearchRequested) -> None:
        self.action_search()

    def action_search(self) -> None:
        self.query_one(SearchBar).open()

    def on_search_bar_closed(self, event: SearchBar.Closed) -> None:
        self.query_one(Composer).focus()

    # --- own typing, throttled --------------------------------------------------------------

    def on_text_area_changed(self, event: Composer.Changed) -> None:
        options = self.chat.options
        self.chat.local.set_draft(self.conversation_id, event.text_area.text)
        if self._put is not None and event.text_area.text == self._put:
            self._put = None
            return  # filled in by _put_text, not typed
        # Written a moment after typing stops, so a crash loses at most that moment.
        if self._draft_saver is not None:
            self._draft_saver.stop()
        self._draft_saver = self.set_timer(DRAFT_SAVE_DELAY, self.chat.local.save)
        if not event.text_area.text.strip():
            self._stop_typing()
            return
        now = time.monotonic()
        if self._typing_sent_at is None or now - self._typing_sent_at >= options.typing_throttle:
            self._typing_sent_at = now
            self.emit_typing(True)
        if self._typing_idle is not None:
            self._typing_idle.stop()
        self._typing_idle = self.set_timer(options.typing_idle, self._stop_typing)

    def _stop_typing(self) -> None:
        if self._typing_idle is not None:
            self._typing_idle.stop()
            self._typing_idle = None
        if self._typing_sent_at is not None:
            self._typing_sent_at = None
            self.emit_typing(False)

    def emit_typing(self, is_typing: bool) -> None:
        # On the app too, so that leaving the screen still says "stopped typing".
        self.chat.run_worker(self._emit_typing(is_typing), group="typing", exclusive=True)

    async def _emit_typing(self, is_typing: bool) -> None:
        realtime = self.chat.realtime
        if realtime is None or not realtime.connected:
            return
        try:
            await realtime.typing(self.conversation_id, is_typing)
        except ClientError:
            pass  # typing is best effort; the other side's indicator times out by itself

    # --- navigation -------------------------------------------------------------------------

    def action_back(self) -> None:
        self._stop_typing()
        self.chat.local.set_draft(self.conversation_id, self.query_one(Composer).text)
        self.chat.local.save()
        self.dismiss()

    def action_page_up(self) -> None:
        log = self.log_view
        if not self.history_loaded.is_set():
            self.load_history()  # it failed before (offline): PageUp tries again
        elif log.scroll_y <= 0 and self.has_more:
            self.load_older()
        else:
            log.scroll_page_up()

    def action_page_down(self) -> None:
        self.log_view.scroll_page_down()
