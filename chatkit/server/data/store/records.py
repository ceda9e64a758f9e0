"""Plain records the store hands out. The wire format is made from them in server.wire.render."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import get_args

from chatkit.wire import Attachment, ContentType, SessionStatus

SESSION_STATUSES: tuple[str, ...] = get_args(SessionStatus)
CONTENT_TYPES: tuple[str, ...] = get_args(ContentType)
NOTIFICATION_STATUSES = ("pending", "sending", "sent", "failed", "dropped")


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    full_name: str
    email: str
    avatar_url: str | None
    notify_email: bool
    tokens_valid_after: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    mentor_id: str
    mentee_id: str
    start_at: datetime
    status: SessionStatus
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    full_name: str
    avatar_url: str | None
    last_seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SessionSummary:
    id: str
    start_at: datetime
    status: SessionStatus


@dataclass(frozen=True, slots=True)
class LastMessage:
    id: str
    content: str
    created_at: datetime
    sender_id: str
    edited_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConversationView:
    """A conversation as one participant sees it."""

    id: str
    mentor: Person
    mentee: Person
    session: SessionSummary
    last_message: LastMessage | None
    unread_count: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Participants:
    """Who is in a conversation; fixed when the conversation is created."""

    conversation_id: str
    mentor_id: str
    mentee_id: str

    def includes(self, user_id: str) -> bool:
        return user_id == self.mentor_id or user_id == self.mentee_id

    def other(self, user_id: str) -> str:
        return self.mentee_id if user_id == self.mentor_id else self.mentor_id

    @property
    def user_ids(self) -> tuple[str, str]:
        return (self.mentor_id, self.mentee_id)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: str
    conversation_id: str
    seq: int
    sender_id: str
    content: str
    content_type: ContentType
    attachments: list[Attachment]
    client_message_id: str | None
    created_at: datetime
    edited_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MessagePage:
    messages: list[MessageRecord]
    has_more: bool
    # Messages at or before the resume point changed (edited, deleted) since the caller's
    # change cursor, and the cursor to resume changes from; filled by catch-up reads.
    changes: list[MessageRecord] = field(default_factory=list)
    change_seq: int = 0
    changes_have_more: bool = False


@dataclass(frozen=True, slots=True)
class ReadState:
    """Read progress in a conversation, seen from one participant."""

    last_seq: int
    my_read_seq: int
    their_read_seq: int
    unread_count: int


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    id: str
    user_id: str
    email: str | None
    conversation_id: str
    message_id: str
    status: str
    due_at: datetime
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    claim_id: str | None
    claimed_by: str | None
