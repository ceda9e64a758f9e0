"""The conversation list: the other participant, the session, a preview and an unread badge,
newest first. Rebuilt in place when anything changes; the highlight follows its conversation.

What Enter opens never moves under the reader: while they are moving through the list (a
cursor key within the last `settle` seconds) rows update in place and keep their order, and
the list re-sorts only once they pause. Up on the first row and Down on the last stay put.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping
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

    def __init__(self, *, id: str | None = None, settle: float = 2.0) -> None:
        super().__init__(id=id)
        self.conversation_ids: list[str] = []
        self.settle = settle
        self._moved_at: float | None = None

    @property
    def unsettled_for(self) -> float:
        """Seconds until the reader counts as paused (0 when they are)."""
        if self._moved_at is None:
            return 0.0
        return max(0.0, self._moved_at + self.settle - time.monotonic())

    def _moved(self) -> None:
        self._moved_at = time.monotonic()

    def action_cursor_down(self) -> None:
        self._moved()
        if self.highlighted is None or self.highlighted < self.option_count - 1:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        self._moved()
        if self.highlighted is None or self.highlighted > 0:
            super().action_cursor_up()

    def action_page_down(self) -> None:
        self._moved()
        super().action_page_down()  # type: ignore[no-untyped-call]

    def action_page_up(self) -> None:
        self._moved()
        super().action_page_up()  # type: ignore[no-untyped-call]

    def show(
        self,
        conversations: Iterable[Conversation],
        *,
        me: str,
        now: datetime,
        tz: tzinfo | None,
        typing: Collection[str] = (),
        drafts: Mapping[str, str] | None = None,
        unsent: Mapping[str, int] | None = None,
    ) -> None:
        """`drafts`: the composer's text per conversation; `unsent`: how many messages
        failed or were refused there."""
        drafts = drafts or {}
        unsent = unsent or {}
        highlighted = self.highlighted_id
        ordered = list(conversations)
        if self.unsettled_for > 0:
            # Keep the rows where the reader saw them; a new conversation goes at the end.
            place = {cid: n for n, cid in enumerate(self.conversation_ids)}
            ordered.sort(key=lambda c: place.get(c.id, len(place)))
        width = max(20, self.size.width - 6) if self.size.width else 60
        options: list[Option | None] = []
        for conversation in ordered:
            prompt = self._prompt(
                conversation,
                me,
                now,
                tz,
                width,
                typing=conversation.id in typing,
                draft=drafts.get(conversation.id, ""),
                unsent=unsent.get(conversation.id, 0),
            )
            options += [Option(prompt, id=conversation.id), None]  # None: a divider line
        ids = [c.id for c in ordered]
        if ids == self.conversation_ids:
            # Same rows: new content in place, the scroll position and highlight untouched.
            for conversation_id, option in zip(ids, options[::2], strict=True):
                assert option is not None
                self.replace_option_prompt(conversation_id, option.prompt)
            return
        scroll_y = self.scroll_y
        self.set_options(options)
        self.conversation_ids = ids
        if highlighted in ids:
            self.highlighted = ids.index(highlighted)
            self.scroll_to(y=scroll_y, animate=False, immediate=True)
            self.scroll_to_highlight()
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
        width: int,
        *,
        typing: bool,
        draft: str,
        unsent: int,
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
        if unsent:
            title.append("  ")
            title.append(f"✗ {unsent} not sent", style="bold")
        session = Text(
            "session "
            + session_line(conversation.session.start_at, conversation.session.status, now, tz),
            style="dim",
        )
        if typing:
            line = Text("typing…", style="italic")
        elif draft.strip():
            line = Text("Draft: ", style="bold italic")
            line.append(preview(draft, width - 7), style="italic")
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
