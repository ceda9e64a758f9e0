"""Typed views of the contract's JSON objects and Socket.IO event payloads.

Each object keeps the JSON it was parsed from in `raw`, so a caller that wants to print the
API's own output (`--json`) does not have to re-render it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chatkit.timefmt import parse_instant


class ProtocolError(ValueError):
    """The server sent JSON that does not have the contract's shape."""


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"expected a string at {key!r}, got {value!r}")
    return value


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ProtocolError(f"expected a string or null at {key!r}, got {value!r}")
    return value


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(f"expected an integer at {key!r}, got {value!r}")
    return value


def _instant(data: dict[str, Any], key: str) -> datetime:
    try:
        return parse_instant(_str(data, key))
    except ValueError as exc:
        raise ProtocolError(f"expected an ISO-8601 instant at {key!r}: {exc}") from None


def _opt_instant(data: dict[str, Any], key: str) -> datetime | None:
    """Absent (a seed-only server) or null: None."""
    return None if data.get(key) is None else _instant(data, key)


def _opt_int(data: dict[str, Any], key: str) -> int | None:
    return None if data.get(key) is None else _int(data, key)


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError(f"expected {what} to be an object, got {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    full_name: str
    avatar_url: str | None
    # Presence (chatkit's extension): None from a server that does not say.
    online: bool | None = None
    last_seen_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Any) -> Person:
        data = _object(data, "a person")
        online = data.get("online")
        return cls(
            _str(data, "id"),
            _str(data, "fullName"),
            _opt_str(data, "avatarUrl"),
            online if isinstance(online, bool) else None,
            _opt_instant(data, "lastSeenAt"),
        )


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    start_at: datetime
    status: str

    @classmethod
    def from_json(cls, data: Any) -> SessionInfo:
        data = _object(data, "a session")
        return cls(_str(data, "id"), _instant(data, "startAt"), _str(data, "status"))


@dataclass(frozen=True, slots=True)
class LastMessage:
    id: str
    content: str
    created_at: datetime
    sender_id: str
    edited_at: datetime | None = None
    deleted_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Any) -> LastMessage:
        data = _object(data, "lastMessage")
        return cls(
            _str(data, "id"),
            _str(data, "content"),
            _instant(data, "createdAt"),
            _str(data, "senderId"),
            _opt_instant(data, "editedAt"),
            _opt_instant(data, "deletedAt"),
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
        data = _object(data, "a conversation")
        last = data.get("lastMessage")
        return cls(
            id=_str(data, "id"),
            mentor=Person.from_json(data.get("mentor")),
            mentee=Person.from_json(data.get("mentee")),
            session=SessionInfo.from_json(data.get("session")),
            last_message=None if last is None else LastMessage.from_json(last),
            unread_count=_int(data, "unreadCount"),
            updated_at=_instant(data, "updatedAt"),
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
    def from_json(cls, data: Any) -> Attachment:
        data = _object(data, "an attachment")
        return cls(
            _opt_str(data, "id"),
            _str(data, "filename"),
            _str(data, "mimeType"),
            _str(data, "url"),
            _int(data, "size"),
        )

    def wire(self) -> dict[str, Any]:
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
    # chatkit's extensions; None from a server that does not send them.
    seq: int | None = None
    edited_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @classmethod
    def from_json(cls, data: Any) -> Message:
        data = _object(data, "a message")
        attachments = data.get("attachments") or []
        if not isinstance(attachments, list):
            raise ProtocolError("expected attachments to be a list")
        return cls(
            id=_str(data, "id"),
            conversation_id=_str(data, "conversationId"),
            sender_id=_str(data, "senderId"),
            content=_str(data, "content"),
            content_type=_str(data, "contentType"),
            attachments=tuple(Attachment.from_json(item) for item in attachments),
            client_message_id=_opt_str(data, "clientMessageId"),
            created_at=_instant(data, "createdAt"),
            raw=data,
            seq=_opt_int(data, "seq"),
            edited_at=_opt_instant(data, "editedAt"),
            deleted_at=_opt_instant(data, "deletedAt"),
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
        data = _object(data, "a message page")
        items = data.get("messages")
        if not isinstance(items, list):
            raise ProtocolError("expected messages to be a list")
        has_more = data.get("hasMore")
        if not isinstance(has_more, bool):
            raise ProtocolError("expected hasMore to be a boolean")
        changes = data.get("changes") or []
        if not isinstance(changes, list):
            raise ProtocolError("expected changes to be a list")
        return cls(
            tuple(Message.from_json(item) for item in items),
            has_more,
            _opt_str(data, "nextCursor"),
            raw=data,
            changes=tuple(Message.from_json(item) for item in changes),
            change_seq=_opt_int(data, "changeSeq"),
            changes_have_more=data.get("changesHasMore") is True,
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
        data = _object(data, "a read receipt")
        return cls(
            _str(data, "conversationId"), _str(data, "readBy"), _int(data, "count"), raw=data
        )
