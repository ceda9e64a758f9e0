"""Cursors: per conversation, the newest message delivered, and the catch-up after a connect.

Only the contract is used: `GET …/messages?after=<id>` from a cursor, `before=<id>` paging for
a conversation with no cursor yet (everything in it is new), `GET /api/conversations` to
find conversations created while the socket was away.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from chatkit.client.api import ApiClient
from chatkit.client.errors import ApiError
from chatkit.client.models import Message

log = logging.getLogger("chatkit.client")

Deliver = Callable[[Message], Awaitable[None]]


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
                    await deliver(message)
            return
        for _ in range(self._max_pages):
            page = await self._api.messages(conversation_id, limit=self._page, after=cursor)
            for message in page.messages:
                if self.advance(message):
                    await deliver(message)
            if not page.has_more or not page.messages:
                return
            cursor = page.messages[-1].id

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
