"""Cursors: per conversation, the newest message delivered, and the catch-up after a connect.

The contract's calls: `GET …/messages?after=<id>` from a cursor, `before=<id>` paging for
a conversation with no cursor yet (everything in it is new), `GET /api/conversations` to
find conversations created while the socket was away. Then chatkit's extension for edits and
deletions: `afterSeq` past every message with the conversation's change cursor answers just
the messages changed since (a server without it is left alone).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from cachetools import LRUCache

from chatkit.client.api import ApiClient
from chatkit.client.errors import ApiError
from chatkit.client.events import ChangeEvent, MessageDeletedEvent, NewMessageEvent, change_of
from chatkit.client.models import Message

log = logging.getLogger("chatkit.client")

Deliver = Callable[[NewMessageEvent | ChangeEvent], Awaitable[None]]
# afterSeq beyond every message: the answer holds the changes alone.
PAST_EVERY_MESSAGE = 2**31 - 1
_DELETED = datetime.max.replace(tzinfo=UTC)
_NEVER_EDITED = datetime.min.replace(tzinfo=UTC)
_UNSUPPORTED = -1


def transient(error: ApiError) -> bool:
    """Worth another try later: no answer, an expired token (a new one may come), rate
    limited, or a server-side failure. Other 4xx will not change by retrying."""
    return error.status in (0, 401, 408, 429) or error.status >= 500


class Cursors:
    def __init__(
        self, api: ApiClient, *, page: int, max_pages: int, follow_new: bool = False
    ) -> None:
        self._api = api
        self._page = page
        self._max_pages = max_pages
        self._follow_new = follow_new
        self._cursors: dict[str, str | None] = {}
        self._dropped: set[str] = set()
        self._changes: dict[str, int] = {}
        # Per message, the newest state delivered: live events and catch-ups meet here.
        self._versions: LRUCache[str, datetime] = LRUCache(maxsize=50_000)

    def track(self, conversation_id: str, last_message_id: str | None) -> None:
        current = self._cursors.get(conversation_id)
        if current is None or (last_message_id is not None and last_message_id > current):
            self._cursors[conversation_id] = last_message_id
        self._dropped.discard(conversation_id)

    def untrack(self, conversation_id: str) -> None:
        self._cursors.pop(conversation_id, None)
        self._dropped.add(conversation_id)

    def cursor(self, conversation_id: str) -> str | None:
        return self._cursors.get(conversation_id)

    def tracked(self) -> list[str]:
        return list(self._cursors)

    def advance(self, message: Message) -> bool:
        """Record a message about to be delivered; False when it was delivered before (or the
        caller already had it): ids sort in send order, so one cursor is enough."""
        cursor = self._cursors.get(message.conversation_id)
        if cursor is not None and message.id <= cursor:
            return False
        self._cursors[message.conversation_id] = message.id
        self._dropped.discard(message.conversation_id)
        return True

    def fresh(self, event: ChangeEvent) -> bool:
        """Record a change about to be delivered; False when it (or a newer state of the
        message) was delivered before. A deletion is final."""
        if isinstance(event, MessageDeletedEvent):
            message_id, mark = event.message_id, _DELETED
        else:
            message_id, mark = event.message.id, event.message.edited_at or _NEVER_EDITED
        known = self._versions.get(message_id)
        if known is not None and known >= mark:
            return False
        self._versions[message_id] = mark
        return True

    async def catch_up(self, deliver: Deliver) -> bool:
        """Deliver what each tracked conversation missed, oldest first. False when a transient
        failure stopped it: the caller must try again before trusting live events."""
        try:
            if self._follow_new:
                try:
                    await self._discover()
                except ApiError as exc:
                    if transient(exc):
                        raise
                    log.warning("listing conversations failed: %s", exc)
            for conversation_id in list(self._cursors):
                try:
                    await self._catch_up_one(conversation_id, deliver)
                    await self._changes_of(conversation_id, deliver)
                except ApiError as exc:
                    if transient(exc):
                        raise
                    if exc.status == 404:
                        self.untrack(conversation_id)  # no longer visible to this user
                    else:
                        log.warning("catch-up of %s failed: %s", conversation_id, exc)
        except ApiError as exc:
            log.warning("catching up failed, will retry: %s", exc)
            return False
        return True

    async def _discover(self) -> None:
        """Track the conversations created while away, from their first message: all of it
        is new to a caller that follows every conversation."""
        async for conversation in self._api.all_conversations():
            if conversation.id not in self._cursors and conversation.id not in self._dropped:
                self._cursors[conversation.id] = None

    async def _catch_up_one(self, conversation_id: str, deliver: Deliver) -> None:
        cursor = self._cursors.get(conversation_id)
        if cursor is None:
            for message in await self._everything(conversation_id):
                if self.advance(message):
                    await deliver(NewMessageEvent(conversation_id, message, catch_up=True))
            return
        for _ in range(self._max_pages):
            page = await self._api.messages(conversation_id, limit=self._page, after=cursor)
            for message in page.messages:
                if self.advance(message):
                    await deliver(NewMessageEvent(conversation_id, message, catch_up=True))
            if not page.has_more or not page.messages:
                return
            cursor = page.messages[-1].id

    async def _changes_of(self, conversation_id: str, deliver: Deliver) -> None:
        """Deliver the edits and deletions made since the last catch-up. The first time, only
        note where the conversation stands: what the caller has shown so far is current."""
        cursor = self._changes.get(conversation_id)
        if cursor == _UNSUPPORTED:
            return
        first = cursor is None
        for _ in range(self._max_pages):
            try:
                page = await self._api.messages(
                    conversation_id,
                    limit=self._page,
                    after_seq=PAST_EVERY_MESSAGE,
                    change_seq=PAST_EVERY_MESSAGE if cursor is None else cursor,
                )
            except ApiError as exc:
                if transient(exc) or exc.status == 404:
                    raise
                self._changes[conversation_id] = _UNSUPPORTED  # a seed-only server
                return
            if page.change_seq is None:
                self._changes[conversation_id] = _UNSUPPORTED
                return
            for message in () if first else page.changes:
                event = change_of(message, catch_up=True)
                if self.fresh(event):
                    await deliver(event)
            cursor = self._changes[conversation_id] = page.change_seq
            if first or not page.changes_have_more:
                return

    async def _everything(self, conversation_id: str) -> list[Message]:
        """The whole history (up to max_pages pages), oldest first."""
        pages: list[tuple[Message, ...]] = []
        before: str | None = None
        for _ in range(self._max_pages):
            page = await self._api.messages(conversation_id, limit=self._page, before=before)
            pages.append(page.messages)
            if not page.has_more or not page.messages:
                break
            before = page.messages[0].id
        return [message for page in reversed(pages) for message in page]
