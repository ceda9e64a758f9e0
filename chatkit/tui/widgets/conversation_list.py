"""The conversation list: the other participant, the session, a preview and an unread badge,
newest first. Rebuilt in place when anything changes; the highlight follows its conversation."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, tzinfo

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from chatkit.client import Conversation
from chatkit.tui.changes import presence_dot
from chatkit.tui.format import preview, session_line


class ConversationList(OptionList):
    DEFAULT_CSS = """
    ConversationList {
        height: 1fr;
        border: none;
        padding: 0;
    }
    ConversationList > .option-list--option { padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.conversation_ids: list[str] = []

    def show(
        self,
        conversations: Iterable[Conversation],
        *,
        me: str,
        now: datetime,
        tz: tzinfo | None,
        typing: Collection[str] = (),
    ) -> None:
        highlighted = self.highlighted_id
        ordered = list(conversations)
        width = max(20, self.size.width - 6) if self.size.width else 60
        options: list[Option | None] = []
        for conversation in ordered:
            prompt = self._prompt(conversation, me, now, tz, conversation.id in typing, width)
            options += [Option(prompt, id=conversation.id), None]  # None: a divider line
        self.set_options(options)
        self.conversation_ids = [c.id for c in ordered]
        if highlighted in self.conversation_ids:
            self.highlighted = self.conversation_ids.index(highlighted)
        elif ordered:
            self.highlighted = 0

    @property
    def highlighted_id(self) -> str | None:
        if self.highlighted is None or self.highlighted >= len(self.conversation_ids):
            return None
        return self.conversation_ids[self.highlighted]

    @staticmethod
    def _prompt(
        conversation: Conversation,
        me: str,
        now: datetime,
        tz: tzinfo | None,
        typing: bool,
        width: int,
    ) -> Text:
        other = conversation.other(me)
        role = "mentee" if other.id == conversation.mentee.id else "mentor"
        title = Text()
        dot, dot_style = presence_dot(other)
        if dot:
            title.append(dot + " ", style=dot_style)
        title.append(other.full_name, style="bold")
        title.append(f" ({role})", style="dim")
        if conversation.unread_count:
            title.append("  ")
            title.append(f" {conversation.unread_count} new ", style="bold reverse")
        session = Text(
            "session "
            + session_line(conversation.session.start_at, conversation.session.status, now, tz),
            style="dim",
        )
        if typing:
            line = Text("typing…", style="italic")
        elif conversation.last_message is None:
            line = Text("no messages yet", style="dim italic")
        else:
            last = conversation.last_message
            who = "You: " if last.sender_id == me else ""
            text = "(deleted)" if last.deleted_at is not None else last.content
            line = Text(who + preview(text, width - len(who)))
            if conversation.unread_count:
                line.stylize("bold")
        return Text("\n").join([title, session, line])
