"""Queries about messages: history pages, and the batched writes of sends and read receipts.

Writes come in batches (see chatkit.server.data.writer): one transaction locks the conversations it
touches, numbers the new messages, inserts them with one executemany, updates read state and
queues email notifications. Everything a batch does commits together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, select

from chatkit.ids import id_after, new_id
from chatkit.server.data.database import Database
from chatkit.server.data.models import (
    conversations_table as conversations,
)
from chatkit.server.data.models import (
    messages_table as messages,
)
from chatkit.server.data.models import (
    notifications_table as notifications,
)
from chatkit.server.data.prepared import Prepared
from chatkit.server.data.store.batches import update_by_id
from chatkit.server.data.store.changes import (
    ChangeBatch,
    ChangeResult,
    DeleteMessage,
    EditMessage,
    changes_since,
)
from chatkit.server.data.store.message_rows import MESSAGE_COLUMNS, message_record
from chatkit.server.data.store.records import MessagePage, MessageRecord, Participants
from chatkit.server.errors import BadRequest
from chatkit.wire import Attachment, ContentType, NewAttachment

# Batches up to this size commit on the event loop (~100 us for one message, ~40 us for each
# one more): handing them to the writer thread cost more CPU than that, and waiting for the
# GIL to come back from it (up to the 5 ms switch interval) was the 500 msg/s p99.
QUICK_BATCH = 8


@dataclass(slots=True)
class NewMessage:
    """A message to store. `attachments` are wire-shaped dicts without ids yet."""

    participants: Participants
    sender_id: str
    content: str
    content_type: ContentType
    attachments: list[NewAttachment]
    client_message_id: str | None
    # Set by the writer just before the batch: queue an email for the offline recipient.
    notify_recipient: bool = False


@dataclass(slots=True)
class MarkRead:
    participants: Participants
    reader_id: str


@dataclass(frozen=True, slots=True)
class SendResult:
    message: MessageRecord
    created: bool


@dataclass(frozen=True, slots=True)
class ReadResult:
    conversation_id: str
    reader_id: str
    count: int
    read_seq: int


Operation = NewMessage | MarkRead | EditMessage | DeleteMessage
Result = SendResult | ReadResult | ChangeResult


@dataclass(slots=True)
class ConversationState:
    mentor_id: str
    mentee_id: str
    last_seq: int
    last_message_id: str | None
    read_seq: dict[str, int]
    unread: dict[str, int]
    updated_at: datetime
    change_seq: int
    touched: bool = False


# The one-message write is the hot path: its statements are Prepared (see data/prepared.py).
_UPDATE_CONVERSATION = Prepared(
    update_by_id(
        conversations,
        "last_seq",
        "last_message_id",
        "updated_at",
        "mentor_read_seq",
        "mentee_read_seq",
        "mentor_unread",
        "mentee_unread",
        "change_seq",
    )
)


# Statements built once: building a SELECT costs more than running it on SQLite.
_IN_CONVERSATION = messages.c.conversation_id == bindparam("conversation_id")
_NEWEST = (
    select(*MESSAGE_COLUMNS)
    .where(_IN_CONVERSATION)
    .order_by(messages.c.seq.desc())
    .limit(bindparam("limit"))
)
_BEFORE_SEQ = (
    select(*MESSAGE_COLUMNS)
    .where(_IN_CONVERSATION, messages.c.seq < bindparam("seq"))
    .order_by(messages.c.seq.desc())
    .limit(bindparam("limit"))
)
_AFTER_SEQ = (
    select(*MESSAGE_COLUMNS)
    .where(_IN_CONVERSATION, messages.c.seq > bindparam("seq"))
    .order_by(messages.c.seq)
    .limit(bindparam("limit"))
)
_CURSOR_SEQ = select(messages.c.seq).where(messages.c.id == bindparam("cursor"), _IN_CONVERSATION)
# Both read through the unique index (conversation, sender, client id): without the sender
# the lookup scanned the conversation's messages, which grew with every message sent.
_BY_CLIENT_ID = Prepared(
    select(*MESSAGE_COLUMNS).where(
        messages.c.conversation_id == bindparam("conversation_id"),
        messages.c.sender_id == bindparam("sender_id"),
        messages.c.client_message_id == bindparam("client_message_id"),
    )
)
_BY_CLIENT_IDS = select(*MESSAGE_COLUMNS).where(
    messages.c.conversation_id.in_(bindparam("conversation_ids", expanding=True)),
    messages.c.sender_id.in_(bindparam("sender_ids", expanding=True)),
    messages.c.client_message_id.in_(bindparam("client_ids", expanding=True)),
)
_LOCK_COLUMNS = (
    conversations.c.id,
    conversations.c.mentor_id,
    conversations.c.mentee_id,
    conversations.c.last_seq,
    conversations.c.last_message_id,
    conversations.c.mentor_read_seq,
    conversations.c.mentee_read_seq,
    conversations.c.mentor_unread,
    conversations.c.mentee_unread,
    conversations.c.updated_at,
    conversations.c.change_seq,
)
_LOCK = (
    select(*_LOCK_COLUMNS)
    .where(conversations.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(conversations.c.id)
)
_LOCK_FOR_UPDATE = _LOCK.with_for_update()
# One conversation (every batch at light load): no expanding IN to render per execution.
_LOCK_ONE = select(*_LOCK_COLUMNS).where(conversations.c.id == bindparam("id"))
_LOCK_ONE_PREPARED = Prepared(_LOCK_ONE)
_LOCK_ONE_FOR_UPDATE = Prepared(_LOCK_ONE.with_for_update())
_INSERT_MESSAGES = Prepared(
    messages.insert(),
    columns=(
        "id",
        "conversation_id",
        "seq",
        "sender_id",
        "content",
        "content_type",
        "attachments",
        "client_message_id",
        "created_at",
        "change_seq",
    ),
)
_INSERT_NOTIFICATIONS = Prepared(
    notifications.insert(),
    columns=(
        "id",
        "user_id",
        "conversation_id",
        "message_id",
        "status",
        "due_at",
        "attempts",
        "created_at",
        "updated_at",
    ),
)


class MessageStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def page(
        self,
        *,
        conversation_id: str,
        limit: int,
        before: str | None = None,
        after: str | None = None,
    ) -> MessagePage:
        """`limit` messages oldest-first: the newest ones (before a cursor), or those after one."""

        def work(conn: Connection) -> MessagePage:
            params: dict[str, Any] = {"conversation_id": conversation_id, "limit": limit + 1}
            if after is not None:
                params["seq"] = _cursor_seq(conn, conversation_id, after)
                query = _AFTER_SEQ
            elif before is not None:
                params["seq"] = _cursor_seq(conn, conversation_id, before)
                query = _BEFORE_SEQ
            else:
                query = _NEWEST
            rows = conn.execute(query, params).all()
            found = [message_record(row) for row in rows[:limit]]
            if after is None:
                found.reverse()
            return MessagePage(found, len(rows) > limit)

        return await self._db.run_read(work)

    async def after_seq(
        self, *, conversation_id: str, seq: int, limit: int, changes_after: int = 0
    ) -> MessagePage:
        """Messages with a seq greater than `seq`, oldest first (resuming after a reconnect),
        and those up to `seq` edited or deleted after change `changes_after`."""

        def work(conn: Connection) -> MessagePage:
            changes, change_seq, more_changes = changes_since(
                conn, conversation_id=conversation_id, seq=seq, after=changes_after, limit=limit
            )
            rows = conn.execute(
                _AFTER_SEQ, {"conversation_id": conversation_id, "seq": seq, "limit": limit + 1}
            ).all()
            return MessagePage(
                [message_record(row) for row in rows[:limit]],
                len(rows) > limit,
                changes=changes,
                change_seq=change_seq,
                changes_have_more=more_changes,
            )

        return await self._db.run_read(work)

    async def by_client_id(
        self, *, conversation_id: str, sender_id: str, client_message_id: str
    ) -> MessageRecord | None:
        def work(conn: Connection) -> MessageRecord | None:
            row = conn.execute(
                select(*MESSAGE_COLUMNS).where(
                    messages.c.conversation_id == conversation_id,
                    messages.c.sender_id == sender_id,
                    messages.c.client_message_id == client_message_id,
                )
            ).first()
            return message_record(row) if row is not None else None

        return await self._db.run_read(work)

    async def apply(
        self, operations: list[Operation], *, now: datetime, notify_delay: float
    ) -> list[Result]:
        """Apply a batch of writes in one transaction; results come back in the same order.

        A small batch is a quick transaction (Database.run_write): at light and moderate
        load it commits on the event loop; larger batches, at saturation, go to the writer
        thread.
        """
        return await self._db.run_write(
            lambda conn: self._apply(conn, operations, now, notify_delay),
            quick=len(operations) <= QUICK_BATCH,
        )

    def _apply(
        self,
        conn: Connection,
        operations: list[Operation],
        now: datetime,
        notify_delay: float,
    ) -> list[Result]:
        states = self._lock_conversations(conn, operations)
        known = self._existing_client_messages(conn, operations)
        changes = ChangeBatch(
            conn, [op for op in operations if isinstance(op, EditMessage | DeleteMessage)]
        )
        results: list[Result] = []
        new_rows: list[dict[str, Any]] = []
        outbox: list[dict[str, Any]] = []
        due_at = now + timedelta(seconds=notify_delay)
        for op in operations:
            participants = op.participants
            state = states[participants.conversation_id]
            if isinstance(op, EditMessage | DeleteMessage):
                results.append(changes.apply(op, state, now))
                continue
            if isinstance(op, MarkRead):
                count = state.unread[op.reader_id]
                state.unread[op.reader_id] = 0
                state.read_seq[op.reader_id] = state.last_seq
                state.touched = state.touched or count > 0
                results.append(
                    ReadResult(participants.conversation_id, op.reader_id, count, state.last_seq)
                )
                continue
            key = (participants.conversation_id, op.sender_id, op.client_message_id)
            if op.client_message_id is not None and key in known:
                results.append(SendResult(known[key], created=False))
                continue
            state.last_seq += 1
            message_id = id_after(state.last_message_id)
            state.last_message_id = message_id
            state.updated_at = now
            state.touched = True
            recipient = participants.other(op.sender_id)
            state.unread[recipient] += 1
            attachments: list[Attachment] = [{"id": new_id(), **item} for item in op.attachments]
            record = MessageRecord(
                id=message_id,
                conversation_id=participants.conversation_id,
                seq=state.last_seq,
                sender_id=op.sender_id,
                content=op.content,
                content_type=op.content_type,
                attachments=attachments,
                client_message_id=op.client_message_id,
                created_at=now,
            )
            if op.client_message_id is not None:
                known[key] = record
            new_rows.append(
                {
                    "id": message_id,
                    "conversation_id": participants.conversation_id,
                    "seq": record.seq,
                    "sender_id": op.sender_id,
                    "content": op.content,
                    "content_type": op.content_type,
                    "attachments": orjson.dumps(attachments).decode() if attachments else "[]",
                    "client_message_id": op.client_message_id,
                    "created_at": now,
                    "change_seq": 0,
                }
            )
            if op.notify_recipient:
                outbox.append(
                    {
                        "id": new_id(),
                        "user_id": recipient,
                        "conversation_id": participants.conversation_id,
                        "message_id": message_id,
                        "status": "pending",
                        "due_at": due_at,
                        "attempts": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            results.append(SendResult(record, created=True))
        _INSERT_MESSAGES.run_many(conn, new_rows)
        _INSERT_NOTIFICATIONS.run_many(conn, outbox)
        changes.flush(conn)
        _UPDATE_CONVERSATION.run_many(
            conn,
            [
                self._state_params(conversation_id, state)
                for conversation_id, state in states.items()
                if state.touched
            ],
        )
        return results

    @staticmethod
    def _state_params(conversation_id: str, state: ConversationState) -> dict[str, Any]:
        return {
            "b_id": conversation_id,
            "b_last_seq": state.last_seq,
            "b_last_message_id": state.last_message_id,
            "b_updated_at": state.updated_at,
            "b_mentor_read_seq": state.read_seq[state.mentor_id],
            "b_mentee_read_seq": state.read_seq[state.mentee_id],
            "b_mentor_unread": state.unread[state.mentor_id],
            "b_mentee_unread": state.unread[state.mentee_id],
            "b_change_seq": state.change_seq,
        }

    def _lock_conversations(
        self, conn: Connection, operations: list[Operation]
    ) -> dict[str, ConversationState]:
        ids = sorted({op.participants.conversation_id for op in operations})
        # Row locks on PostgreSQL, taken in id order so that two processes never deadlock.
        locking = self._db.dialect == "postgresql"
        rows: Sequence[Any]
        if len(ids) == 1:
            lock_one = _LOCK_ONE_FOR_UPDATE if locking else _LOCK_ONE_PREPARED
            rows = lock_one.rows(conn, {"id": ids[0]})
        else:
            rows = conn.execute(_LOCK_FOR_UPDATE if locking else _LOCK, {"ids": ids}).all()
        states: dict[str, ConversationState] = {}
        for row in rows:
            mentor_id, mentee_id = row[1], row[2]
            states[row[0]] = ConversationState(
                mentor_id=mentor_id,
                mentee_id=mentee_id,
                last_seq=row[3],
                last_message_id=row[4],
                read_seq={mentor_id: row[5], mentee_id: row[6]},
                unread={mentor_id: row[7], mentee_id: row[8]},
                updated_at=row[9],
                change_seq=row[10],
            )
        return states

    def _existing_client_messages(
        self, conn: Connection, operations: list[Operation]
    ) -> dict[tuple[str, str, str | None], MessageRecord]:
        sends = [
            op
            for op in operations
            if isinstance(op, NewMessage) and op.client_message_id is not None
        ]
        if not sends:
            return {}
        rows: Sequence[Any]
        if len(sends) == 1:
            rows = _BY_CLIENT_ID.rows(
                conn,
                {
                    "conversation_id": sends[0].participants.conversation_id,
                    "sender_id": sends[0].sender_id,
                    "client_message_id": sends[0].client_message_id,
                },
            )
        else:
            rows = conn.execute(
                _BY_CLIENT_IDS,
                {
                    "conversation_ids": sorted({op.participants.conversation_id for op in sends}),
                    "sender_ids": sorted({op.sender_id for op in sends}),
                    "client_ids": sorted({str(op.client_message_id) for op in sends}),
                },
            ).all()
        found: dict[tuple[str, str, str | None], MessageRecord] = {}
        for row in rows:
            record = message_record(row)
            found[(record.conversation_id, record.sender_id, record.client_message_id)] = record
        return found


def _cursor_seq(conn: Connection, conversation_id: str, cursor: str) -> int:
    seq = conn.scalar(_CURSOR_SEQ, {"cursor": cursor, "conversation_id": conversation_id})
    if seq is None:
        raise BadRequest("the cursor names no message of this conversation", code="invalid_cursor")
    return int(seq)
