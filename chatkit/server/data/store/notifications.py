"""Queries about the email outbox: claiming due notifications, recording outcomes, listing.

The message writer inserts one `pending` row per message a recipient could not see live.
Delivery workers claim rows a whole (user, conversation) at a time, so that several messages
become one email, and mark what became of them. Statuses:

    pending -> sending (claimed, under a lease) -> sent | dropped | failed
                       \\-> pending again, later (a failed attempt that will be retried)

Claims are exclusive across processes. On PostgreSQL a transaction-scoped advisory lock per
(user, conversation) keeps two workers from splitting one conversation's rows between two
emails, and `FOR UPDATE SKIP LOCKED` takes the rows without waiting on anyone. On SQLite the
claim runs inside BEGIN IMMEDIATE, which admits one writer at a time, and every row is
stamped with the claim id and owner before the lock is released.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from chatkit.ids import new_id
from chatkit.server.data.database import Database
from chatkit.server.data.models import conversations_table as conversations
from chatkit.server.data.models import messages_table as messages
from chatkit.server.data.models import notifications_table as notifications
from chatkit.server.data.models import sessions_table as sessions
from chatkit.server.data.models import users_table as users
from chatkit.server.data.store.message_rows import MESSAGE_COLUMNS, message_record
from chatkit.server.data.store.records import (
    NOTIFICATION_STATUSES as STATUSES,
)
from chatkit.server.data.store.records import MessageRecord, NotificationRecord
from chatkit.server.errors import Conflict, NotFound

_N = notifications
# Rows nothing will ever happen to again (a requeue may still revive them until pruned).
FINISHED = ("sent", "dropped", "failed")
PRUNE_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Claim:
    """Rows one worker holds: they become (at most) one email."""

    id: str
    owner: str
    user_id: str
    conversation_id: str
    notification_ids: tuple[str, ...]
    # Attempts already made for any of these rows (an email is retried as a whole).
    attempts: int


@dataclass(frozen=True, slots=True)
class Recipient:
    id: str
    full_name: str
    email: str
    notify_email: bool


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    notification_id: str
    message: MessageRecord


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a worker needs to decide on and write one email, read at send time."""

    claim: Claim
    recipient: Recipient
    sender_name: str
    session_start: datetime
    # The recipient's read position: messages with seq <= read_seq have been read.
    read_seq: int
    messages: list[QueuedMessage]
    # Rows whose message no longer exists.
    orphans: list[str]


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Rows a claim of their group takes: pending ones (due or not: they coalesce into the
    email) and ones whose previous worker's lease has run out."""
    return or_(_N.c.status == "pending", and_(_N.c.status == "sending", _N.c.claimed_until < now))


def _due(now: datetime) -> ColumnElement[bool]:
    """Rows that make their group worth claiming now."""
    return or_(
        and_(_N.c.status == "pending", _N.c.due_at <= now),
        and_(_N.c.status == "sending", _N.c.claimed_until < now),
    )


def _in_group(user_id: str, conversation_id: str) -> ColumnElement[bool]:
    return and_(_N.c.user_id == user_id, _N.c.conversation_id == conversation_id)


class NotificationStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    # --- claiming -----------------------------------------------------------------------------

    async def due_groups(self, *, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(user, conversation) pairs with something due, oldest first; takes no lock."""
        return await self._db.run_read(lambda conn: _due_groups(conn, now, limit))

    async def claim_next(self, *, owner: str, now: datetime, lease: float) -> Claim | None:
        """Claim every claimable row of the group that has waited longest, or None.

        A cheap read comes first, so an idle worker never takes SQLite's write lock.
        """
        candidates = await self.due_groups(now=now, limit=8)
        if not candidates:
            return None
        until = now + timedelta(seconds=lease)
        postgres = self._db.dialect == "postgresql"

        def work(conn: Connection) -> Claim | None:
            for user_id, conversation_id in candidates:
                claim = _claim_group(conn, user_id, conversation_id, owner, now, until, postgres)
                if claim is not None:
                    return claim
            return None

        return await self._db.run_write(work)

    async def delivery(self, claim: Claim) -> Delivery | None:
        """Everything the email needs, read now (send time); None if the rows are gone."""
        return await self._db.run_read(lambda conn: _delivery(conn, claim))

    # --- outcomes -----------------------------------------------------------------------------

    async def still_claimed(self, claim: Claim, *, now: datetime) -> bool:
        """Whether this worker's lease on the claim still holds (checked just before sending)."""
        query = (
            select(func.count())
            .select_from(_N)
            .where(
                _N.c.claim_id == claim.id,
                _N.c.claimed_by == claim.owner,
                _N.c.status == "sending",
                _N.c.claimed_until > now,
            )
        )
        return bool(await self._db.run_read(lambda conn: conn.scalar(query)))

    async def mark_sent(self, claim: Claim, ids: list[str], *, now: datetime) -> int:
        return await self._finish(
            claim, ids, now, status="sent", sent_at=now, attempts=claim.attempts + 1
        )

    async def mark_dropped(
        self, claim: Claim, ids: list[str], *, reason: str, now: datetime
    ) -> int:
        return await self._finish(claim, ids, now, status="dropped", last_error=reason)

    async def mark_failed(
        self, claim: Claim, ids: list[str], *, error: str, retry_at: datetime | None, now: datetime
    ) -> int:
        """Record a failed attempt: back to pending at `retry_at`, or `failed` for good."""
        values: dict[str, Any] = {"last_error": error[:2000], "attempts": claim.attempts + 1}
        if retry_at is None:
            return await self._finish(claim, ids, now, status="failed", **values)
        return await self._finish(claim, ids, now, status="pending", due_at=retry_at, **values)

    async def _finish(self, claim: Claim, ids: list[str], now: datetime, **values: Any) -> int:
        if not ids:
            return 0
        statement = (
            update(_N)
            .where(
                _N.c.id.in_(ids),
                _N.c.claim_id == claim.id,
                _N.c.claimed_by == claim.owner,
                _N.c.status == "sending",
            )
            .values(claimed_until=None, updated_at=now, **values)
        )
        return await self._db.run_write(lambda conn: int(conn.execute(statement).rowcount))

    async def prune(self, *, before: datetime, batch: int = PRUNE_BATCH) -> int:
        """Delete finished rows (sent, dropped, failed) last changed before `before`; how many.

        In batches, each its own transaction, so SQLite's one writer is never held for long.
        """

        def work(conn: Connection) -> int:
            ids = list(
                conn.scalars(
                    select(_N.c.id)
                    .where(_N.c.status.in_(FINISHED), _N.c.updated_at < before)
                    .limit(batch)
                )
            )
            if ids:
                conn.execute(delete(_N).where(_N.c.id.in_(ids)))
            return len(ids)

        total = 0
        while True:
            deleted = await self._db.run_write(work)
            total += deleted
            if deleted < batch:
                return total

    async def requeue(self, *, notification_id: str, now: datetime) -> NotificationRecord:
        """Put a failed, dropped or waiting notification up for sending now, attempts reset."""

        def work(conn: Connection) -> NotificationRecord:
            row = _get(conn, notification_id)
            if row is None:
                raise NotFound(f"no notification {notification_id}", code="notification_not_found")
            if row.status in ("sent", "sending"):
                what = "was already sent" if row.status == "sent" else "is being sent right now"
                raise Conflict(f"notification {notification_id} {what}", code="not_requeueable")
            conn.execute(
                update(_N)
                .where(_N.c.id == notification_id)
                .values(
                    status="pending",
                    due_at=now,
                    attempts=0,
                    claim_id=None,
                    claimed_by=None,
                    claimed_until=None,
                    updated_at=now,
                )
            )
            updated = _get(conn, notification_id)
            assert updated is not None
            return updated

        return await self._db.run_write(work)

    # --- listing ------------------------------------------------------------------------------

    async def get(self, notification_id: str) -> NotificationRecord | None:
        return await self._db.run_read(lambda conn: _get(conn, notification_id))

    async def list(
        self,
        *,
        status: str | None = None,
        user_id: str | None = None,
        conversation_id: str | None = None,
        limit: int = 100,
    ) -> list[NotificationRecord]:
        """Newest first."""
        query = _list_query().order_by(_N.c.created_at.desc(), _N.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(_N.c.status == status)
        if user_id is not None:
            query = query.where(_N.c.user_id == user_id)
        if conversation_id is not None:
            query = query.where(_N.c.conversation_id == conversation_id)
        return await self._db.run_read(
            lambda conn: [NotificationRecord(*row) for row in conn.execute(query)]
        )

    async def counts(self) -> dict[str, int]:
        query = select(_N.c.status, func.count()).group_by(_N.c.status)
        found = await self._db.run_read(
            lambda conn: {row[0]: int(row[1]) for row in conn.execute(query)}
        )
        return {status: found.get(status, 0) for status in STATUSES}


def _due_groups(conn: Connection, now: datetime, limit: int) -> list[tuple[str, str]]:
    oldest = func.min(_N.c.due_at)
    rows = conn.execute(
        select(_N.c.user_id, _N.c.conversation_id, oldest)
        .where(_due(now))
        .group_by(_N.c.user_id, _N.c.conversation_id)
        .order_by(oldest)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


def _claim_group(
    conn: Connection,
    user_id: str,
    conversation_id: str,
    owner: str,
    now: datetime,
    until: datetime,
    postgres: bool,
) -> Claim | None:
    query = select(_N.c.id, _N.c.attempts, _N.c.status, _N.c.due_at, _N.c.claimed_until).where(
        _in_group(user_id, conversation_id), _claimable(now)
    )
    if postgres:
        key = f"chatkit-notify:{user_id}:{conversation_id}"
        locked = conn.scalar(select(func.pg_try_advisory_xact_lock(func.hashtextextended(key, 0))))
        if not locked:
            return None  # another worker is claiming this conversation right now
        query = query.with_for_update(skip_locked=True)
    rows = conn.execute(query).all()
    # Re-checked under the lock: another worker may have taken the group meanwhile.
    if not any((row[2] == "pending" and row[3] <= now) or row[2] == "sending" for row in rows):
        return None
    claim_id = new_id()
    ids = tuple(row[0] for row in rows)
    conn.execute(
        update(_N)
        .where(_N.c.id.in_(ids))
        .values(
            status="sending",
            claim_id=claim_id,
            claimed_by=owner,
            claimed_until=until,
            updated_at=now,
        )
    )
    return Claim(
        id=claim_id,
        owner=owner,
        user_id=user_id,
        conversation_id=conversation_id,
        notification_ids=ids,
        attempts=max(row[1] for row in rows),
    )


def _delivery(conn: Connection, claim: Claim) -> Delivery | None:
    recipient = conn.execute(
        select(users.c.id, users.c.full_name, users.c.email, users.c.notify_email).where(
            users.c.id == claim.user_id
        )
    ).first()
    conversation = conn.execute(
        select(
            conversations.c.mentor_id,
            conversations.c.mentee_id,
            conversations.c.mentor_read_seq,
            conversations.c.mentee_read_seq,
            sessions.c.start_at,
        )
        .select_from(conversations.join(sessions, sessions.c.id == conversations.c.session_id))
        .where(conversations.c.id == claim.conversation_id)
    ).first()
    if recipient is None or conversation is None:
        return None
    mentor_id, mentee_id, mentor_read, mentee_read, start_at = conversation
    is_mentor = claim.user_id == mentor_id
    sender_id = mentee_id if is_mentor else mentor_id
    sender_name = conn.scalar(select(users.c.full_name).where(users.c.id == sender_id))
    rows = conn.execute(
        select(_N.c.id, *MESSAGE_COLUMNS)
        .select_from(_N.outerjoin(messages, messages.c.id == _N.c.message_id))
        .where(_N.c.claim_id == claim.id)
        .order_by(messages.c.seq)
    )
    queued: list[QueuedMessage] = []
    orphans: list[str] = []
    for row in rows:
        if row[1] is None:
            orphans.append(row[0])
        else:
            queued.append(QueuedMessage(row[0], message_record(row[1:])))
    return Delivery(
        claim=claim,
        recipient=Recipient(*recipient),
        sender_name=sender_name or "Someone",
        session_start=start_at,
        read_seq=mentor_read if is_mentor else mentee_read,
        messages=queued,
        orphans=orphans,
    )


def _get(conn: Connection, notification_id: str) -> NotificationRecord | None:
    row = conn.execute(_list_query().where(_N.c.id == notification_id)).first()
    return NotificationRecord(*row) if row is not None else None


def _list_query() -> Any:
    return select(
        _N.c.id,
        _N.c.user_id,
        users.c.email,
        _N.c.conversation_id,
        _N.c.message_id,
        _N.c.status,
        _N.c.due_at,
        _N.c.attempts,
        _N.c.last_error,
        _N.c.created_at,
        _N.c.updated_at,
        _N.c.sent_at,
        _N.c.claim_id,
        _N.c.claimed_by,
    ).select_from(_N.outerjoin(users, users.c.id == _N.c.user_id))
