"""The wire format: records in, the contract's camelCase JSON objects out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chatkit.server.data.store.messages import ReadResult
from chatkit.server.data.store.records import (
    ConversationView,
    MessageRecord,
    Person,
    SessionRecord,
    UserRecord,
)
from chatkit.timefmt import iso


def person(value: Person) -> dict[str, Any]:
    return {"id": value.id, "fullName": value.full_name, "avatarUrl": value.avatar_url}


def conversation(view: ConversationView) -> dict[str, Any]:
    last = view.last_message
    return {
        "id": view.id,
        "mentor": person(view.mentor),
        "mentee": person(view.mentee),
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
