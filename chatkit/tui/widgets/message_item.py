"""One message in the log: sender, time, text, attachments, "edited" or "deleted", and for
own messages the delivery state (sending…, sent ✓, read ✓✓, failed ✗, refused ✗)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from enum import StrEnum

from rich.text import Text
from textual.widgets import Static

from chatkit.client import Message
from chatkit.tui.format import message_time, size


class Delivery(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    READ = "read"
    FAILED = "failed"
    REFUSED = "refused"


_MARKS = {
    Delivery.PENDING: ("◷ sending…", "italic"),
    Delivery.SENT: ("✓ sent", ""),
    Delivery.READ: ("✓✓ read", "bold"),
    Delivery.FAILED: ("✗ failed · ctrl+r retries", "bold"),
    Delivery.REFUSED: ("✗ refused · ctrl+r edits", "bold"),
}


class MessageItem(Static):
    DEFAULT_CSS = """
    MessageItem {
        height: auto;
        margin: 0 1 1 1;
        padding: 0 1;
        border-left: tall $secondary;
    }
    MessageItem.-mine { border-left: tall $primary; background: $primary 8%; }
    MessageItem.-pending { color: $text-muted; }
    MessageItem.-failed, MessageItem.-refused {
        border-left: tall $error;
        background: $error 10%;
    }
    MessageItem.-match { background: $warning 15%; }
    MessageItem.-current-match { background: $warning 40%; }
    """

    def __init__(
        self,
        *,
        sender: str,
        mine: bool,
        now: datetime,
        tz: tzinfo | None,
        message: Message | None = None,
        text: str = "",
        client_message_id: str | None = None,
        delivery: Delivery = Delivery.SENT,
        reason: str = "",
    ) -> None:
        super().__init__()
        self.sender = sender
        self.mine = mine
        self.message = message
        self.text = message.content if message is not None else text
        self.client_message_id = (
            message.client_message_id if message is not None else client_message_id
        )
        self.delivery = delivery
        self.reason = reason  # why the server refused it
        self._now = now
        self._tz = tz
        self.add_class("-mine" if mine else "-theirs")

    @property
    def message_id(self) -> str | None:
        return self.message.id if self.message is not None else None

    def on_mount(self) -> None:
        self._refresh_content()

    def set_delivery(
        self, delivery: Delivery, message: Message | None = None, reason: str = ""
    ) -> None:
        if message is not None:
            self.message = message
            self.text = message.content
        self.delivery = delivery
        self.reason = reason
        self._refresh_content()

    def replace_message(self, message: Message) -> None:
        """The message was edited or deleted: show it as it is now."""
        self.message = message
        self.text = message.content
        self._refresh_content()

    def _refresh_content(self) -> None:
        for state in Delivery:
            self.set_class(self.mine and self.delivery is state, f"-{state.value}")
        self.update(self.render_text())

    def render_text(self) -> Text:
        head = Text()
        head.append(self.sender, style="bold")
        if self.message is not None:
            head.append(" · " + message_time(self.message.created_at, self._now, self._tz))
        deleted = self.message is not None and self.message.deleted_at is not None
        if self.message is not None and self.message.edited_at is not None and not deleted:
            head.append(" · edited", style="italic")
        if self.mine:
            mark, style = _MARKS[self.delivery]
            head.append(" · ")
            head.append(mark, style=style)
        body = Text("deleted", style="dim italic") if deleted else Text(self.text)
        lines = [head, body]
        if self.mine and self.delivery is Delivery.REFUSED and self.reason:
            lines.append(Text(self.reason, style="italic"))
        if self.message is not None:
            for attachment in self.message.attachments:
                line = Text("📎 ")
                line.append(attachment.filename, style="bold")
                line.append(f" ({attachment.mime_type}, {size(attachment.size)}) ")
                line.append(attachment.url, style=f"underline link {attachment.url}")
                lines.append(line)
        return Text("\n").join(lines)
