"""The wire format: records in, the contract's camelCase JSON objects out, for REST answers,
Socket.IO events and their acknowledgements.

Each function returns one of chatkit.wire's objects as a plain dict literal, which mypy
checks against the definition (no key missing or extra, each value of its type): the
definition costs nothing at run time and orjson serialises the result.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from chatkit.server.data.store.messages import ReadResult
from chatkit.server.data.store.records import (
    ConversationView,
    MessageRecord,
    ReadState,
    SessionRecord,
    UserRecord,
)
from chatkit.server.data.store.records import (
    MessagePage as MessagePageRecord,
)
from chatkit.server.data.store.records import Person as PersonRecord
from chatkit.timefmt import iso
from chatkit.wire import (
    Acked,
    AckError,
    AckErrorDetail,
    Conversation,
    DisconnectCode,
    Disconnecting,
    Message,
    MessageDeleted,
    MessagePage,
    MessageUpdated,
    NewMessage,
    Person,
    Presence,
    ReadReceipt,
    Reauthed,
    Revocation,
    Session,
    SyncedConversation,
    User,
    UserTyping,
)


def person(value: PersonRecord, *, online: bool) -> Person:
    return {
        "id": value.id,
        "fullName": value.full_name,
        "avatarUrl": value.avatar_url,
        "online": online,
        "lastSeenAt": _iso_or_none(value.last_seen_at),
    }


def conversation(view: ConversationView, online: Collection[str]) -> Conversation:
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


def message(record: MessageRecord) -> Message:
    # The hot path (every new_message): the two conditionals are inlined, not _iso_or_none.
    edited_at, deleted_at = record.edited_at, record.deleted_at
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
        "editedAt": None if edited_at is None else iso(edited_at),
        "deletedAt": None if deleted_at is None else iso(deleted_at),
    }


def _iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def message_page(page: MessagePageRecord, *, forwards: bool, catch_up: bool = False) -> MessagePage:
    """`catch_up` (afterSeq): with the edits and deletions to apply, and the change cursor."""
    messages = [message(record) for record in page.messages]
    next_cursor = None
    if page.has_more and messages:
        # Paging backwards continues from the oldest returned, forwards from the newest.
        next_cursor = messages[-1]["id"] if forwards else messages[0]["id"]
    answer: MessagePage = {
        "messages": messages,
        "hasMore": page.has_more,
        "nextCursor": next_cursor,
    }
    if catch_up:  # what changed in the messages the client already has
        answer["changes"] = [message(record) for record in page.changes]
        answer["changeSeq"] = page.change_seq
        answer["changesHasMore"] = page.changes_have_more
    return answer


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


# --- Socket.IO events -----------------------------------------------------------------------


def new_message(record: MessageRecord) -> NewMessage:
    return {"conversationId": record.conversation_id, "message": message(record)}


def message_updated(record: MessageRecord) -> MessageUpdated:
    return {"conversationId": record.conversation_id, "message": message(record)}


def message_deleted(record: MessageRecord) -> MessageDeleted:
    assert record.deleted_at is not None
    return {
        "conversationId": record.conversation_id,
        "messageId": record.id,
        "deletedAt": iso(record.deleted_at),
    }


def user_typing(conversation_id: str, user_id: str, *, is_typing: bool) -> UserTyping:
    return {"conversationId": conversation_id, "userId": user_id, "isTyping": is_typing}


def presence(user_id: str, *, online: bool, last_seen: datetime | None) -> Presence:
    return {"userId": user_id, "online": online, "lastSeenAt": _iso_or_none(last_seen)}


def disconnecting(code: DisconnectCode, message: str) -> Disconnecting:
    return {"code": code, "message": message}


# --- acknowledgements of the client's events ------------------------------------------------

ACKED: Acked = {"ok": True}


def ack_error(code: str, message: str, *, retry_after: int | None = None) -> AckError:
    error: AckErrorDetail = {"code": code, "message": message}
    if retry_after is not None:
        error["retryAfter"] = retry_after
    return {"ok": False, "error": error}


def reauthed(expires_at: float) -> Reauthed:
    """`expires_at`: the new token's expiry, in seconds since the epoch."""
    return {"ok": True, "expiresAt": iso(datetime.fromtimestamp(expires_at, UTC))}


def synced_conversation(page: MessagePageRecord, read: ReadState) -> SyncedConversation:
    """One conversation of the `sync` answer: `page` from the seq the client gave."""
    return {
        "messages": [message(record) for record in page.messages],
        "hasMore": page.has_more,
        "lastSeq": read.last_seq,
        "unreadCount": read.unread_count,
        "readSeq": read.my_read_seq,
        "otherReadSeq": read.their_read_seq,
        "changes": [message(record) for record in page.changes],
        "changeSeq": page.change_seq,
        "changesHasMore": page.changes_have_more,
    }
