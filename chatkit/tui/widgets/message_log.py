"""The conversation history: a VerticalScroll anchored to the bottom.

New messages keep it at the bottom unless the reader has scrolled up; reaching the top asks
for the previous page, which is inserted above without moving what the reader is looking at.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.containers import VerticalScroll
from textual.message import Message as TextualMessage
from textual.widgets import Static

from chatkit.tui.widgets.message_item import Delivery, MessageItem


class MessageLog(VerticalScroll):
    DEFAULT_CSS = """
    MessageLog {
        height: 1fr;
        padding: 1 0 0 0;
    }
    MessageLog > .new-divider {
        color: $accent;
        text-style: bold;
        text-align: center;
        width: 100%;
        margin-bottom: 1;
    }
    MessageLog > .history-edge {
        color: $text-muted;
        text-align: center;
        width: 100%;
        margin-bottom: 1;
    }
    """

    @dataclass
    class NearTop(TextualMessage):
        """The reader reached the top: time to load older messages."""

        log: MessageLog

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=True)
        self.items: dict[str, MessageItem] = {}

    def on_mount(self) -> None:
        self.anchor()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value <= 0 < old_value:
            self.post_message(self.NearTop(self))

    # --- content --------------------------------------------------------------------------

    def item_for(self, key: str) -> MessageItem | None:
        return self.items.get(key)

    def pending_item(self, client_message_id: str) -> MessageItem | None:
        return self.items.get("pending:" + client_message_id)

    @property
    def oldest_id(self) -> str | None:
        ids = [item.message_id for item in self.query(MessageItem) if item.message_id]
        return min(ids) if ids else None

    @property
    def newest_id(self) -> str | None:
        ids = [item.message_id for item in self.items.values() if item.message_id]
        return max(ids) if ids else None

    async def append_items(self, items: list[MessageItem]) -> None:
        """Add at the bottom: what is not sent yet, or stored messages newer than all shown."""
        fresh = [item for item in items if self._register(item)]
        if fresh:
            await self.mount_all(fresh)

    async def add_stored(self, items: list[MessageItem]) -> None:
        """Stored messages, each put in id order among those shown, above what is not sent
        yet: a history page that arrives after live messages (opened offline) lands above
        them, not below."""
        fresh = sorted(
            (item for item in items if self._register(item)), key=lambda i: i.message_id or ""
        )
        if not fresh:
            return
        if not any(self._goes_before(shown, fresh[0]) for shown in self.query(MessageItem)):
            await self.mount_all(fresh)
            return
        for item in fresh:
            after = next((i for i in self.query(MessageItem) if self._goes_before(i, item)), None)
            await self.mount(item, before=after) if after is not None else await self.mount(item)

    @staticmethod
    def _goes_before(shown: MessageItem, new: MessageItem) -> bool:
        """True when `new` belongs above `shown`."""
        if shown.message_id is None:
            return True  # not sent yet: stays at the bottom
        return (new.message_id or "") < shown.message_id

    async def remove_item(self, item: MessageItem) -> None:
        for key, value in list(self.items.items()):
            if value is item:
                del self.items[key]
        await item.remove()

    async def prepend_items(self, items: list[MessageItem]) -> None:
        """Insert above the first message and keep the viewport on the same message."""
        fresh = [item for item in items if self._register(item)]
        if not fresh:
            return
        first = next(iter(self.query(MessageItem)), None)
        before_height = self.virtual_size.height
        before_y = self.scroll_y
        if first is None:
            await self.mount_all(fresh)
            return
        await self.mount_all(fresh, before=first)

        def keep_place() -> None:
            grown = self.virtual_size.height - before_height
            self.scroll_to(y=before_y + grown, animate=False, immediate=True)

        self.call_after_refresh(keep_place)

    def resolve_pending(self, client_message_id: str, item_key: str) -> None:
        """A pending item got its stored message: file it under the message id."""
        item = self.items.pop("pending:" + client_message_id, None)
        if item is not None:
            self.items[item_key] = item

    def put_in_order(self, item: MessageItem) -> None:
        """Move a just-stored message below those stored before it that arrived meanwhile (a
        retried message lands after what the other side wrote while it was failing)."""
        message_id = item.message_id
        if message_id is None:
            return
        siblings = list(self.query(MessageItem))
        later = siblings[siblings.index(item) + 1 :]
        earlier_stored = [
            i for i in later if i.message_id is not None and i.message_id < message_id
        ]
        if earlier_stored:
            self.move_child(item, after=earlier_stored[-1])

    def mark_read_upto(self, message_id: str) -> None:
        for item in self.items.values():
            if (
                item.mine
                and item.delivery is Delivery.SENT
                and item.message_id is not None
                and item.message_id <= message_id
            ):
                item.set_delivery(Delivery.READ)

    async def mark_first_unread(self, message_id: str) -> Static | None:
        """A "New messages" line above the first message not read before opening."""
        item = self.items.get(message_id)
        if item is None or self.query(".new-divider"):
            return None
        divider = Static("── New messages ──", classes="new-divider")
        await self.mount(divider, before=item)
        return divider

    def search(self, query: str) -> list[MessageItem]:
        """Mark every message containing `query` (any case); the matches, oldest first."""
        needle = query.casefold()
        matches = []
        for item in self.query(MessageItem):
            hit = bool(needle) and needle in item.text.casefold()
            item.set_class(hit, "-match")
            item.set_class(False, "-current-match")
            if hit:
                matches.append(item)
        return matches

    def show_match(self, item: MessageItem) -> None:
        for other in self.query(".-current-match"):
            other.remove_class("-current-match")
        item.add_class("-current-match")
        self.scroll_to_widget(item, animate=False, immediate=True)

    def _register(self, item: MessageItem) -> bool:
        key = item.message_id or "pending:" + (item.client_message_id or "")
        if key in self.items:
            return False
        self.items[key] = item
        return True
