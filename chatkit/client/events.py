"""What a RealtimeClient delivers: typed server events and connection state changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from chatkit.client.models import Message, ProtocolError, ReadReceipt
from chatkit.timefmt import parse_instant

# The detail of the CONNECTED status delivered before the catch-up; the one after it has none.
CATCHING_UP = "catching up"


class ConnectionState(StrEnum):
    CONNECTING = "connecting"  # the first attempt
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"  # lost, or not reached yet: retrying soon
    OFFLINE = "offline"  # down for a while (still retrying), refused, or closed


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    state: ConnectionState
    detail: str = ""
    attempt: int = 0
    retrying: bool = True  # False once closed, or refused with a token that cannot change
    # When the next attempt is due (time.monotonic()); None when none is scheduled.
    retry_at: float | None = None

    @property
    def live(self) -> bool:
        """Connected and caught up: from here on events arrive as they happen."""
        return self.state is ConnectionState.CONNECTED and self.detail != CATCHING_UP

    def retry_in(self) -> float | None:
        """Seconds until the next attempt, from now."""
        if self.retry_at is None:
            return None
        return max(0.0, self.retry_at - time.monotonic())

    def describe(self) -> str:
        text = f"{self.state.value}: {self.detail}" if self.detail else self.state.value
        wait = self.retry_in()
        if wait is not None:
            text += f"; retrying in {wait:.0f}s" if wait >= 0.5 else "; retrying now"
        return text


@dataclass(frozen=True, slots=True)
class NewMessageEvent:
    """`new_message`; `catch_up` is True for a message fetched with `after` after a connect."""

    conversation_id: str
    message: Message
    catch_up: bool = False


@dataclass(frozen=True, slots=True)
class TypingEvent:
    """`user_typing`."""

    conversation_id: str
    user_id: str
    is_typing: bool
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ReadEvent:
    """`messages_read`: `read_by` has read everything in the conversation up to now."""

    receipt: ReadReceipt

    @property
    def conversation_id(self) -> str:
        return self.receipt.conversation_id


@dataclass(frozen=True, slots=True)
class MessageUpdatedEvent:
    """`message_updated`: `message` is the edited message. `catch_up` is True for an edit
    learnt after a connect (the message as it is now)."""

    conversation_id: str
    message: Message
    catch_up: bool = False


@dataclass(frozen=True, slots=True)
class MessageDeletedEvent:
    """`message_deleted`: the message is now a tombstone (content "", no attachments)."""

    conversation_id: str
    message_id: str
    deleted_at: datetime
    catch_up: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PresenceEvent:
    """`presence`: someone who shares a conversation with you came online or went away."""

    user_id: str
    online: bool
    last_seen_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    status: ConnectionStatus


ChangeEvent = MessageUpdatedEvent | MessageDeletedEvent
Event = (
    NewMessageEvent
    | TypingEvent
    | ReadEvent
    | MessageUpdatedEvent
    | MessageDeletedEvent
    | PresenceEvent
    | ConnectionEvent
)
# What the server pushes that a RealtimeClient relays.
SERVER_EVENTS = (
    "new_message",
    "user_typing",
    "messages_read",
    "message_updated",
    "message_deleted",
    "presence",
    "token_expired",
)


def parse_new_message(payload: Any) -> NewMessageEvent:
    if not isinstance(payload, dict):
        raise ProtocolError("new_message payload is not an object")
    message = Message.from_json(payload.get("message"))
    conversation_id = payload.get("conversationId", message.conversation_id)
    if not isinstance(conversation_id, str):
        raise ProtocolError("new_message conversationId is not a string")
    return NewMessageEvent(conversation_id, message)


def parse_typing(payload: Any) -> TypingEvent:
    if not isinstance(payload, dict):
        raise ProtocolError("user_typing payload is not an object")
    conversation_id, user_id = payload.get("conversationId"), payload.get("userId")
    is_typing = payload.get("isTyping")
    if not (isinstance(conversation_id, str) and isinstance(user_id, str)):
        raise ProtocolError("user_typing needs conversationId and userId strings")
    return TypingEvent(conversation_id, user_id, bool(is_typing), raw=payload)


def parse_read(payload: Any) -> ReadEvent:
    return ReadEvent(ReadReceipt.from_json(payload))


def _payload(payload: Any, event: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ProtocolError(f"{event} payload is not an object")
    return payload


def _instant(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise ProtocolError(f"{what} is not a string")
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise ProtocolError(f"{what}: {exc}") from None


def parse_change(event: str, payload: Any) -> ChangeEvent:
    """`message_updated` or `message_deleted`."""
    data = _payload(payload, event)
    if event == "message_updated":
        message = Message.from_json(data.get("message"))
        return MessageUpdatedEvent(data.get("conversationId") or message.conversation_id, message)
    conversation_id, message_id = data.get("conversationId"), data.get("messageId")
    if not (isinstance(conversation_id, str) and isinstance(message_id, str)):
        raise ProtocolError("message_deleted needs conversationId and messageId strings")
    deleted_at = _instant(data.get("deletedAt"), "message_deleted deletedAt")
    return MessageDeletedEvent(conversation_id, message_id, deleted_at, raw=data)


def change_of(message: Message, *, catch_up: bool) -> ChangeEvent:
    """The event that brings a client's copy of `message` to its current state."""
    if message.deleted_at is not None:
        raw = {
            "conversationId": message.conversation_id,
            "messageId": message.id,
            "deletedAt": message.raw.get("deletedAt"),
        }
        return MessageDeletedEvent(
            message.conversation_id, message.id, message.deleted_at, catch_up, raw=raw
        )
    return MessageUpdatedEvent(message.conversation_id, message, catch_up)


def parse_presence(payload: Any) -> PresenceEvent:
    data = _payload(payload, "presence")
    user_id, online, seen = data.get("userId"), data.get("online"), data.get("lastSeenAt")
    if not (isinstance(user_id, str) and isinstance(online, bool)):
        raise ProtocolError("presence needs a userId string and an online boolean")
    last_seen = None if seen is None else _instant(seen, "presence lastSeenAt")
    return PresenceEvent(user_id, online, last_seen, raw=data)


class EventStream:
    """An async iterator over delivered events; `async with client.subscribe() as events`."""

    def __init__(self, unsubscribe: Any) -> None:
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._unsubscribe = unsubscribe
        self._closed = False

    def put(self, event: Event) -> None:
        if not self._closed:
            self._queue.put_nowait(event)

    def close(self) -> None:
        """Stop iterating (after what was already delivered) and stop receiving."""
        if not self._closed:
            self._closed = True
            self._unsubscribe(self)
            self._queue.put_nowait(None)

    async def get(self, timeout: float | None = None) -> Event:
        """The next event; TimeoutError after `timeout` seconds, StopAsyncIteration if closed."""
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is None:
            self._queue.put_nowait(None)  # stay closed for later readers
            raise StopAsyncIteration
        return item

    def pending(self) -> list[Event]:
        """What has been delivered and not read yet, without waiting."""
        items: list[Event] = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None:
                self._queue.put_nowait(None)
                break
            items.append(item)
        return items

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        return await self.get()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


# Events delivered as they come, parsed by these.
PLAIN_EVENTS: dict[str, Callable[[Any], Event]] = {
    "user_typing": parse_typing,
    "messages_read": parse_read,
    "presence": parse_presence,
}
