"""The columns a message is read with, and the record made of them (shared by the stores)."""

from __future__ import annotations

from typing import Any

import orjson

from chatkit.server.data.models import messages_table as messages
from chatkit.server.data.store.records import MessageRecord

MESSAGE_COLUMNS = (
    messages.c.id,
    messages.c.conversation_id,
    messages.c.seq,
    messages.c.sender_id,
    messages.c.content,
    messages.c.content_type,
    messages.c.attachments,
    messages.c.client_message_id,
    messages.c.created_at,
    messages.c.edited_at,
    messages.c.deleted_at,
)


def message_record(row: Any) -> MessageRecord:
    """A record from a row that starts with MESSAGE_COLUMNS."""
    return MessageRecord(
        id=row[0],
        conversation_id=row[1],
        seq=row[2],
        sender_id=row[3],
        content=row[4],
        content_type=row[5],
        attachments=orjson.loads(row[6]) if row[6] not in ("[]", "", None) else [],
        client_message_id=row[7],
        created_at=row[8],
        edited_at=row[9],
        deleted_at=row[10],
    )
