"""What a RealtimeClient delivers: typed server events and connection state changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from chatkit import event_names, wire
from chatkit.client.models import Message, ReadReceipt, check, instant_or_none
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
class MessageEvent:
    """A message as it now is; `catch_up` is True when it was fetched after a connect rather
    than pushed live."""

    conversation_id: str
    message: Message
    catch_up: bool = False


@dataclass(frozen=True, slots=True)
class NewMessageEvent(MessageEvent):
    """`new_message`."""

    name: ClassVar[str] = event_names.NEW_MESSAGE


@dataclass(frozen=True, slots=True)
class MessageUpdatedEvent(MessageEvent):
    """`message_updated`: `message` is the edited message."""

    name: ClassVar[str] = event_names.MESSAGE_UPDATED


@dataclass(frozen=True, slots=True)
class TypingEvent:
    """`user_typing`."""

    name: ClassVar[str] = event_names.USER_TYPING
    conversation_id: str
    user_id: str
    is_typing: bool
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ReadEvent:
    """`messages_read`: `read_by` has read everything in the conversation up to now."""

    name: ClassVar[str] = event_names.MESSAGES_READ
    receipt: ReadReceipt

    @property
    def conversation_id(self) -> str:
        return self.receipt.conversation_id


@dataclass(frozen=True, slots=True)
class MessageDeletedEvent:
    """`message_deleted`: the message is now a tombstone (content "", no attachments)."""

    name: ClassVar[str] = event_names.MESSAGE_DELETED
    conversation_id: str
    message_id: str
    deleted_at: datetime
    catch_up: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PresenceEvent:
    """`presence`: someone who shares a conversation with you came online or went away."""

    name: ClassVar[str] = event_names.PRESENCE
    user_id: str
    online: bool
    last_seen_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    status: ConnectionStatus


ChangeEvent = MessageUpdatedEvent | MessageDeletedEvent
# What the server says, as delivered (each class's `name` is the event it comes from).
ServerEvent = (
    NewMessageEvent
    | TypingEvent
    | ReadEvent
    | MessageUpdatedEvent
    | MessageDeletedEvent
    | PresenceEvent
)
Event = ServerEvent | ConnectionEvent


# Each payload is checked against its definition in chatkit.wire (SERVER_EVENTS) first; a
# payload that does not match raises ProtocolError.


def parse_new_message(payload: Any) -> NewMessageEvent:
    data = check(wire.NewMessage, payload)
    message = Message.from_wire(data["message"], raw=payload["message"])
    return NewMessageEvent(data["conversationId"], message)


def parse_typing(payload: Any) -> TypingEvent:
    data = check(wire.UserTyping, payload)
    return TypingEvent(data["conversationId"], data["userId"], data["isTyping"], raw=payload)


def parse_read(payload: Any) -> ReadEvent:
    return ReadEvent(ReadReceipt.from_json(payload))


def parse_change(event: str, payload: Any) -> ChangeEvent:
    """`message_updated` or `message_deleted`."""
    if event == event_names.MESSAGE_UPDATED:
        updated = check(wire.MessageUpdated, payload)
        message = Message.from_wire(updated["message"], raw=payload["message"])
        return MessageUpdatedEvent(updated["conversationId"], message)
    deleted = check(wire.MessageDeleted, payload)
    deleted_at = parse_instant(deleted["deletedAt"])
    return MessageDeletedEvent(
        deleted["conversationId"], deleted["messageId"], deleted_at, raw=payload
    )


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
    data = check(wire.Presence, payload)
    last_seen = instant_or_none(data["lastSeenAt"])
    return PresenceEvent(data["userId"], data["online"], last_seen, raw=payload)


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
    event_names.USER_TYPING: parse_typing,
    event_names.MESSAGES_READ: parse_read,
    event_names.PRESENCE: parse_presence,
}
