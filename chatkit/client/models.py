"""Typed views of the contract's JSON objects and Socket.IO event payloads.

The JSON is checked against the objects' one definition in chatkit.wire (which the server
renders and the OpenAPI document describes) and then turned into these snake_case views,
with instants as datetimes.

Each object keeps the JSON it was parsed from in `raw`, so a caller that wants to print the
API's own output (`--json`) does not have to re-render it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from chatkit import wire
from chatkit.timefmt import parse_instant


class ProtocolError(ValueError):
    """The server sent JSON that does not have the contract's shape."""


W = TypeVar("W")


def instant_or_none(value: str | None) -> datetime | None:
    return None if value is None else parse_instant(value)


def check(kind: type[W], data: Any) -> W:
    """`data` checked against the wire object's one definition (chatkit.wire)."""
    try:
        return wire.parse(kind, data)
    except wire.WireError as exc:
        raise ProtocolError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    full_name: str
    avatar_url: str | None
    # Presence (chatkit's extension); None when not known.
    online: bool | None = None
    last_seen_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Any) -> Person:
        return cls.from_wire(check(wire.Person, data))

    @classmethod
    def from_wire(cls, data: wire.Person) -> Person:
        return cls(
            data["id"],
            data["fullName"],
            data["avatarUrl"],
            data["online"],
            instant_or_none(data["lastSeenAt"]),
        )


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    start_at: datetime
    status: str

    @classmethod
    def from_wire(cls, data: wire.SessionSummary) -> SessionInfo:
        return cls(data["id"], parse_instant(data["startAt"]), data["status"])


@dataclass(frozen=True, slots=True)
class LastMessage:
    id: str
    content: str
    created_at: datetime
    sender_id: str
    edited_at: datetime | None = None
    deleted_at: datetime | None = None

    @classmethod
    def from_wire(cls, data: wire.LastMessage) -> LastMessage:
        return cls(
            data["id"],
            data["content"],
            parse_instant(data["createdAt"]),
            data["senderId"],
            instant_or_none(data["editedAt"]),
            instant_or_none(data["deletedAt"]),
        )


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    mentor: Person
    mentee: Person
    session: SessionInfo
    last_message: LastMessage | None
    unread_count: int
    updated_at: datetime
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Conversation:
        parsed = check(wire.Conversation, data)
        last = parsed["lastMessage"]
        return cls(
            id=parsed["id"],
            mentor=Person.from_wire(parsed["mentor"]),
            mentee=Person.from_wire(parsed["mentee"]),
            session=SessionInfo.from_wire(parsed["session"]),
            last_message=None if last is None else LastMessage.from_wire(last),
            unread_count=parsed["unreadCount"],
            updated_at=parse_instant(parsed["updatedAt"]),
            raw=data,
        )

    def other(self, user_id: str) -> Person:
        """The participant who is not `user_id`."""
        return self.mentee if self.mentor.id == user_id else self.mentor


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str | None
    filename: str
    mime_type: str
    url: str
    size: int

    @classmethod
    def from_wire(cls, data: wire.Attachment) -> Attachment:
        return cls(data["id"], data["filename"], data["mimeType"], data["url"], data["size"])

    def wire(self) -> wire.NewAttachment:
        """The body shape of an attachment to send (the server assigns the id)."""
        return {
            "filename": self.filename,
            "mimeType": self.mime_type,
            "url": self.url,
            "size": self.size,
        }


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    conversation_id: str
    sender_id: str
    content: str
    content_type: str
    attachments: tuple[Attachment, ...]
    client_message_id: str | None
    created_at: datetime
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    seq: int | None = None
    edited_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @classmethod
    def from_json(cls, data: Any) -> Message:
        return cls.from_wire(check(wire.Message, data), raw=data)

    @classmethod
    def from_wire(cls, data: wire.Message, *, raw: dict[str, Any]) -> Message:
        return cls(
            id=data["id"],
            conversation_id=data["conversationId"],
            sender_id=data["senderId"],
            content=data["content"],
            content_type=data["contentType"],
            attachments=tuple(Attachment.from_wire(item) for item in data["attachments"]),
            client_message_id=data["clientMessageId"],
            created_at=parse_instant(data["createdAt"]),
            raw=raw,
            seq=data["seq"],
            edited_at=instant_or_none(data["editedAt"]),
            deleted_at=instant_or_none(data["deletedAt"]),
        )


@dataclass(frozen=True, slots=True)
class MessagePage:
    """Oldest first. `next_cursor` continues in the direction the page was asked for."""

    messages: tuple[Message, ...]
    has_more: bool
    next_cursor: str | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # With afterSeq (chatkit's catch-up of edits and deletions): the changed messages as they
    # are now, the cursor to pass next time, and whether more changes remain.
    changes: tuple[Message, ...] = ()
    change_seq: int | None = None
    changes_have_more: bool = False

    @classmethod
    def from_json(cls, data: Any) -> MessagePage:
        parsed = check(wire.MessagePage, data)
        changes = parsed.get("changes", [])
        return cls(
            tuple(
                Message.from_wire(item, raw=raw)
                for item, raw in zip(parsed["messages"], data["messages"], strict=True)
            ),
            parsed["hasMore"],
            parsed["nextCursor"],
            raw=data,
            changes=tuple(
                Message.from_wire(item, raw=raw)
                for item, raw in zip(changes, data.get("changes", []), strict=True)
            ),
            change_seq=parsed.get("changeSeq"),
            changes_have_more=parsed.get("changesHasMore", False),
        )


@dataclass(frozen=True, slots=True)
class SendResult:
    """A stored message; `created` is False when a repeated clientMessageId found the first."""

    message: Message
    created: bool


@dataclass(frozen=True, slots=True)
class ReadReceipt:
    """The PATCH /read answer and the `messages_read` payload."""

    conversation_id: str
    read_by: str
    count: int
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> ReadReceipt:
        parsed = check(wire.ReadReceipt, data)
        return cls(parsed["conversationId"], parsed["readBy"], parsed["count"], raw=data)
