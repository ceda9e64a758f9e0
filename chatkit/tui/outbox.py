"""Outbox: sends what the user writes, one at a time per conversation, and keeps what could
not be sent in the LocalState until it is sent or discarded.

A failure that may pass (no answer, 401 with a token that renews, 408, 429, 5xx) is retried by
Ctrl+R with the same clientMessageId, so a message the server did store is never stored twice.
Any other 4xx is a refusal that no retry can change: its text goes back to the composer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from chatkit.client import ApiClient, ApiError, ClientError, Message, new_client_message_id
from chatkit.tui.local_state import LocalState, Unsent, UnsentState

Changed = Callable[[str, Unsent], None]
Sent = Callable[[str, Unsent, Message], Awaitable[None]]


def may_pass(error: ClientError) -> bool:
    """Worth retrying later: anything but a 4xx answer other than 401, 408 and 429."""
    if not isinstance(error, ApiError):
        return True
    return error.status in (0, 401, 408, 429) or error.status >= 500


class Outbox:
    def __init__(self, api: ApiClient, local: LocalState, *, changed: Changed, sent: Sent) -> None:
        """`changed(conversation_id, entry)` after each state change of an unsent message;
        `sent(conversation_id, entry, message)` once the server has stored it."""
        self._api = api
        self._local = local
        self._changed = changed
        self._sent = sent
        self._locks: dict[str, asyncio.Lock] = {}

    def write(self, conversation_id: str, text: str) -> Unsent:
        """A new message, kept as pending until the server answers; `deliver` sends it."""
        entry = Unsent(new_client_message_id(), text)
        self._local.add(conversation_id, entry)
        self._local.save()
        return entry

    async def deliver(self, conversation_id: str, entry: Unsent) -> None:
        # One at a time per conversation, so messages are stored in the order written.
        async with self.lock(conversation_id):
            try:
                result = await self._api.send(
                    conversation_id, entry.text, client_message_id=entry.client_message_id
                )
            except ClientError as exc:
                state = UnsentState.FAILED if may_pass(exc) else UnsentState.REFUSED
                self._local.mark(conversation_id, entry.client_message_id, state, str(exc))
                self._local.save()
                self._changed(conversation_id, entry)
                return
        self._local.remove(conversation_id, entry.client_message_id)
        self._local.save()
        await self._sent(conversation_id, entry, result.message)

    def retry(self, conversation_id: str) -> list[Unsent]:
        """The failed messages of a conversation, pending again: the caller delivers them."""
        again = []
        for entry in self._local.unsent(conversation_id):
            if entry.state is UnsentState.FAILED:
                self._local.mark(conversation_id, entry.client_message_id, UnsentState.PENDING)
                self._changed(conversation_id, entry)
                again.append(entry)
        return again

    def take_refused(self, conversation_id: str) -> list[Unsent]:
        """Remove the refused messages, whose text goes back to the composer."""
        return self._take(conversation_id, (UnsentState.REFUSED,))

    def discard(self, conversation_id: str) -> list[Unsent]:
        """Forget what failed or was refused (not what is being sent right now)."""
        return self._take(conversation_id, (UnsentState.FAILED, UnsentState.REFUSED))

    def lock(self, conversation_id: str) -> asyncio.Lock:
        """Held while a message of this conversation is being sent (tests hold it to see the
        pending state for certain)."""
        return self._locks.setdefault(conversation_id, asyncio.Lock())

    def _take(self, conversation_id: str, states: tuple[UnsentState, ...]) -> list[Unsent]:
        taken = [e for e in self._local.unsent(conversation_id) if e.state in states]
        for entry in taken:
            self._local.remove(conversation_id, entry.client_message_id)
        self._local.save()
        return taken
