"""Edits and deletions, applied inside the writer's batch transaction (see store.messages).

They go through the same batches as sends so that every write of a conversation is ordered
by one lock and its events leave in commit order: an edit racing a deletion either lands
first (then the deletion) or finds a tombstone (409). Each change bumps the conversation's
`change_seq` and stamps the message with it, which is what catch-up asks for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, bindparam, select

from chatkit.server.data.models import conversations_table as conversations
from chatkit.server.data.models import messages_table as messages
from chatkit.server.data.store.batches import update_by_id
from chatkit.server.data.store.message_rows import MESSAGE_COLUMNS, message_record
from chatkit.server.data.store.records import MessageRecord, Participants
from chatkit.server.errors import ChatkitError, Conflict, Forbidden, NotFound

if TYPE_CHECKING:
    from chatkit.server.data.store.messages import ConversationState


@dataclass(slots=True)
class EditMessage:
    participants: Participants
    message_id: str
    editor_id: str
    content: str


@dataclass(slots=True)
class DeleteMessage:
    participants: Participants
    message_id: str
    deleter_id: str
    # An admin token may delete any message; everyone else only their own.
    as_admin: bool = False


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """The message as it now is; `changed` is False for a repeat (nothing to emit)."""

    message: MessageRecord | None
    changed: bool
    error: ChatkitError | None = None


Change = EditMessage | DeleteMessage

_BY_IDS = select(*MESSAGE_COLUMNS).where(messages.c.id.in_(bindparam("ids", expanding=True)))
_UPDATE = update_by_id(messages, "content", "attachments", "edited_at", "deleted_at", "change_seq")


def _not_found() -> ChangeResult:
    # Also for a message of another conversation, so that ids cannot be probed.
    return ChangeResult(None, False, NotFound("no such message", code="message_not_found"))


class ChangeBatch:
    """The messages a batch edits or deletes: read once, changed in order, written once."""

    def __init__(self, conn: Connection, changes: list[Change]) -> None:
        ids = sorted({change.message_id for change in changes})
        rows: Sequence[Any] = conn.execute(_BY_IDS, {"ids": ids}).all() if ids else []
        self._current = {record.id: record for record in map(message_record, rows)}
        self._updates: dict[str, dict[str, Any]] = {}

    def apply(self, op: Change, state: ConversationState, now: datetime) -> ChangeResult:
        record = self._current.get(op.message_id)
        if record is None or record.conversation_id != op.participants.conversation_id:
            return _not_found()
        if isinstance(op, EditMessage):
            if record.sender_id != op.editor_id:
                error: ChatkitError = Forbidden(
                    "only its sender can edit a message", code="not_message_sender"
                )
                return ChangeResult(None, False, error)
            if record.deleted_at is not None:
                error = Conflict("the message was deleted", code="message_deleted")
                return ChangeResult(None, False, error)
            if record.content == op.content:
                return ChangeResult(record, False)
            changed = replace(record, content=op.content, edited_at=now)
        else:
            if not op.as_admin and record.sender_id != op.deleter_id:
                error = Forbidden(
                    "only its sender or an admin can delete a message", code="not_message_sender"
                )
                return ChangeResult(None, False, error)
            if record.deleted_at is not None:
                return ChangeResult(record, False)
            changed = replace(record, content="", attachments=[], deleted_at=now)
            recipient = op.participants.other(record.sender_id)
            # A deleted message no longer counts as unread.
            if record.seq > state.read_seq[recipient] and state.unread[recipient] > 0:
                state.unread[recipient] -= 1
        state.change_seq += 1
        state.touched = True
        self._current[changed.id] = changed
        self._updates[changed.id] = {
            "b_id": changed.id,
            "b_content": changed.content,
            "b_attachments": orjson.dumps(changed.attachments).decode()
            if changed.attachments
            else "[]",
            "b_edited_at": changed.edited_at,
            "b_deleted_at": changed.deleted_at,
            "b_change_seq": state.change_seq,
        }
        return ChangeResult(changed, True)

    def flush(self, conn: Connection) -> None:
        if self._updates:
            conn.execute(_UPDATE, list(self._updates.values()))


_CHANGE_SEQ = select(conversations.c.change_seq).where(
    conversations.c.id == bindparam("conversation_id")
)
_CHANGED = (
    select(*MESSAGE_COLUMNS, messages.c.change_seq)
    .where(
        messages.c.conversation_id == bindparam("conversation_id"),
        messages.c.seq <= bindparam("seq"),
        messages.c.change_seq > bindparam("after"),
    )
    .order_by(messages.c.change_seq)
    .limit(bindparam("limit"))
)


def changes_since(
    conn: Connection, *, conversation_id: str, seq: int, after: int, limit: int
) -> tuple[list[MessageRecord], int, bool]:
    """Messages up to `seq` changed after change `after`: (their current state, the change
    cursor to resume from, whether more remain).

    The cursor is read before the changes: on PostgreSQL each statement sees the latest
    commits, so a change committed in between is returned now and again next time, never
    skipped.
    """
    current = int(conn.scalar(_CHANGE_SEQ, {"conversation_id": conversation_id}) or 0)
    rows = conn.execute(
        _CHANGED,
        {"conversation_id": conversation_id, "seq": seq, "after": after, "limit": limit + 1},
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    # A cursor from the future (a restored database) starts again from now.
    cursor = int(rows[-1][-1]) if more else current
    return [message_record(row) for row in rows], cursor, more
