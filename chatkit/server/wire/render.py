"""The wire format: records in, the contract's camelCase JSON objects out.

Each function returns one of chatkit.wire's objects as a plain dict literal, which mypy
checks against the definition (no key missing or extra, each value of its type): the
definition costs nothing at run time and orjson serialises the result.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chatkit.server.data.store.messages import ReadResult
from chatkit.server.data.store.records import (
    ConversationView,
    MessageRecord,
    SessionRecord,
    UserRecord,
)
from chatkit.server.data.store.records import (
    MessagePage as MessagePageRecord,
)
from chatkit.server.data.store.records import Person as PersonRecord
from chatkit.timefmt import iso
from chatkit.wire import (
    Conversation,
    Message,
    MessagePage,
    Person,
    ReadReceipt,
    Revocation,
    Session,
    User,
)


def person(value: PersonRecord) -> Person:
    return {"id": value.id, "fullName": value.full_name, "avatarUrl": value.avatar_url}


def conversation(view: ConversationView) -> Conversation:
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


def message(record: MessageRecord) -> Message:
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


def message_page(page: MessagePageRecord, *, forwards: bool) -> MessagePage:
    messages = [message(record) for record in page.messages]
    next_cursor = None
    if page.has_more and messages:
        # Paging backwards continues from the oldest returned, forwards from the newest.
        next_cursor = messages[-1]["id"] if forwards else messages[0]["id"]
    return {"messages": messages, "hasMore": page.has_more, "nextCursor": next_cursor}


def read_receipt(result: ReadResult) -> ReadReceipt:
    return {
        "conversationId": result.conversation_id,
        "readBy": result.reader_id,
        "count": result.count,
    }


def user(record: UserRecord) -> User:
    return {
        "id": record.id,
        "fullName": record.full_name,
        "email": record.email,
        "avatarUrl": record.avatar_url,
        "notifyEmail": record.notify_email,
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
    }


def session(record: SessionRecord) -> Session:
    return {
        "id": record.id,
        "mentorId": record.mentor_id,
        "menteeId": record.mentee_id,
        "startAt": iso(record.start_at),
        "status": record.status,
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
    }


def revocation(user_id: str, tokens_valid_after: datetime) -> Revocation:
    return {"userId": user_id, "tokensValidAfter": iso(tokens_valid_after)}


def iso_from_epoch(seconds: float) -> str:
    return iso(datetime.fromtimestamp(seconds, UTC))
