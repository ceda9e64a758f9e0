"""The database schema. Queries live in chatkit.server.data.store; migrations in ./migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ID = String(36)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend keeps (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """A person on the platform; owned by the surrounding platform, synced in by admins."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    avatar_url: Mapped[str | None] = mapped_column(String(2048))
    notify_email: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # Tokens issued before this instant are refused (revocation).
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the user's last socket closed (presence); null until it first did.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when a process without Redis stopped cleanly while the user was shown online, so
    # that the next one keeps showing them (see PresenceHandover); null once taken over.
    presence_handover_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MentoringSession(Base):
    """A mentoring session between a mentor and a mentee; a conversation hangs off it."""

    __tablename__ = "mentoring_sessions"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    mentor_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id"), index=True)
    mentee_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id"), index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Conversation(Base):
    """One conversation per session. Participants are fixed when it is created.

    Read state lives on the row (one per side) so that the conversation list needs no
    per-conversation counting: `*_unread` counts the other side's messages after `*_read_seq`.
    """

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    session_id: Mapped[str] = mapped_column(ID, ForeignKey("mentoring_sessions.id"), unique=True)
    mentor_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id"))
    mentee_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_message_id: Mapped[str | None] = mapped_column(ID)
    mentor_read_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mentee_read_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mentor_unread: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mentee_unread: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Bumped by every edit or deletion: a client that was away asks for the changes after
    # the value it last saw (see Message.change_seq).
    change_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        Index("ix_conversations_mentor_updated", "mentor_id", "updated_at"),
        Index("ix_conversations_mentee_updated", "mentee_id", "updated_at"),
    )


class Message(Base):
    """A message. `seq` numbers a conversation's messages 1, 2, 3… without holes."""

    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ID, ForeignKey("conversations.id"))
    seq: Mapped[int] = mapped_column(Integer)
    sender_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id"))
    content: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(10))
    # JSON array of {id, filename, mimeType, url, size}, kept as text we encode ourselves.
    attachments: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    client_message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A deleted message stays as a tombstone (empty content, no attachments) in its place.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The conversation's change_seq at this message's last edit or deletion (0: never).
    change_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        Index("ix_messages_conversation_change", "conversation_id", "change_seq"),
        UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
        UniqueConstraint(
            "conversation_id",
            "sender_id",
            "client_message_id",
            name="uq_messages_client_message_id",
        ),
    )


class Notification(Base):
    """The email outbox: one row per message a recipient could not see live.

    Rows are written in the transaction that stores the message, so nothing is lost if the
    process dies right after the commit; the notify worker coalesces and delivers them.
    """

    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id"))
    conversation_id: Mapped[str] = mapped_column(ID, ForeignKey("conversations.id"))
    message_id: Mapped[str] = mapped_column(ID)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A worker claims all pending rows of one (user, conversation) at once under one claim
    # id (the email they become); the lease lets another worker take over if it dies.
    claim_id: Mapped[str | None] = mapped_column(ID)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_notifications_status_due", "status", "due_at"),
        Index("ix_notifications_user_conversation", "user_id", "conversation_id"),
        Index("ix_notifications_claim_id", "claim_id"),
    )


# Core handles on the tables, typed as Table, for the store's SQL expressions.
users_table = cast(Table, User.__table__)
sessions_table = cast(Table, MentoringSession.__table__)
conversations_table = cast(Table, Conversation.__table__)
messages_table = cast(Table, Message.__table__)
notifications_table = cast(Table, Notification.__table__)
