"""The wire format: records in, the contract's camelCase JSON objects out."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from chatkit.server.data.store.messages import ReadResult
from chatkit.server.data.store.records import (
    ConversationView,
    MessagePage,
    MessageRecord,
    Person,
    SessionRecord,
    UserRecord,
)
from chatkit.timefmt import iso


def person(value: Person, *, online: bool) -> dict[str, Any]:
    return {
        "id": value.id,
        "fullName": value.full_name,
        "avatarUrl": value.avatar_url,
        "online": online,
        "lastSeenAt": _iso_or_none(value.last_seen_at),
    }


def conversation(view: ConversationView, online: Collection[str]) -> dict[str, Any]:
    """`online`: the users presence shows online (any superset of the two will do)."""
    last = view.last_message
    return {
        "id": view.id,
        "mentor": person(view.mentor, online=view.mentor.id in online),
        "mentee": person(view.mentee, online=view.mentee.id in online),
        "session": {
            "id": view.session.id,
            "startAt": iso(view.session.start_at),
            "status": view.session.status,
        },
        "lastMessage": None
        if last is None
        else {
            "id": last.id,
            "content": last.content,
            "createdAt": iso(last.created_at),
            "senderId": last.sender_id,
            "editedAt": _iso_or_none(last.edited_at),
            "deletedAt": _iso_or_none(last.deleted_at),
        },
        "unreadCount": view.unread_count,
        "updatedAt": iso(view.updated_at),
    }


def message(record: MessageRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "conversationId": record.conversation_id,
        "seq": record.seq,
        "senderId": record.sender_id,
        "content": record.content,
        "contentType": record.content_type,
        "attachments": record.attachments,
        "clientMessageId": record.client_message_id,
        "createdAt": iso(record.created_at),
        "editedAt": _iso_or_none(record.edited_at),
        "deletedAt": _iso_or_none(record.deleted_at),
    }


def _iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def page(records: MessagePage) -> dict[str, Any]:
    """The catch-up part of a page (afterSeq, sync): changes to apply and the cursor."""
    return {
        "changes": [message(record) for record in records.changes],
        "changeSeq": records.change_seq,
        "changesHasMore": records.changes_have_more,
    }


def read_receipt(result: ReadResult) -> dict[str, Any]:
    return {
        "conversationId": result.conversation_id,
        "readBy": result.reader_id,
        "count": result.count,
    }


def user(record: UserRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "fullName": record.full_name,
        "email": record.email,
        "avatarUrl": record.avatar_url,
        "notifyEmail": record.notify_email,
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
    }


def session(record: SessionRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "mentorId": record.mentor_id,
        "menteeId": record.mentee_id,
        "startAt": iso(record.start_at),
        "status": record.status,
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
    }


def iso_from_epoch(seconds: float) -> str:
    return iso(datetime.fromtimestamp(seconds, UTC))
