"""Outbox housekeeping: the notify worker deletes finished notification rows once they are
older than `notify_retention`, and never a row that may still become an email."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection

from chatkit.ids import new_id
from chatkit.server.data.database import Database
from chatkit.server.data.models import notifications_table
from chatkit.server.data.store.notifications import NotificationStore
from chatkit.server.notify import build_worker
from chatkit.timefmt import utcnow
from tests.conftest import make_settings
from tests.support.api import Api
from tests.support.server import running_server

DAY = 86400.0


async def test_the_worker_prunes_finished_rows_past_the_retention_only(
    database_url: str, tmp_path: Path
) -> None:
    # The server's own worker stays off: the test's worker is the only one pruning.
    settings = make_settings(database_url, tmp_path, notify_retention=30 * DAY, notify_worker=False)
    now = utcnow()
    old, recent = now - timedelta(days=40), now - timedelta(days=1)
    async with running_server(settings) as server, Api(server) as api:
        pair = await api.pair()
        database = server.services.database
        cases = {
            "sent long ago": ("sent", old),
            "dropped long ago": ("dropped", old),
            "failed long ago": ("failed", old),
            "sent yesterday": ("sent", recent),
            "never delivered": ("pending", old),
            "being sent": ("sending", old),
        }
        rows = {
            name: await _insert(database, pair.mentee_id, pair.conversation_id, status, when)
            for name, (status, when) in cases.items()
        }
        store = NotificationStore(database)
        worker = build_worker(settings, store)

        pruned = await worker.prune()
        again = await worker.prune()
        left = {row.id for row in await store.list(user_id=pair.mentee_id)}
        forever = make_settings(database_url, tmp_path, notify_retention=0, notify_worker=False)
        nothing = await build_worker(forever, store).prune()

    assert pruned == 3 and again == 0 and nothing == 0
    assert left == {
        rows["sent yesterday"],
        rows["never delivered"],
        rows["being sent"],
    }


async def test_pruning_is_part_of_the_workers_round_and_in_batches(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, notify_retention=DAY, notify_worker=False)
    old = utcnow() - timedelta(days=2)
    async with running_server(settings) as server, Api(server) as api:
        pair = await api.pair()
        database = server.services.database
        for _ in range(5):
            await _insert(database, pair.mentee_id, pair.conversation_id, "sent", old)
        store = NotificationStore(database)

        batches = await store.prune(before=utcnow() - timedelta(days=1), batch=2)
        for _ in range(3):
            await _insert(database, pair.mentee_id, pair.conversation_id, "dropped", old)
        first = await build_worker(settings, store).run_once()
        left = await store.list(user_id=pair.mentee_id)

    assert batches == 5, "batches continue until one comes back short"
    assert first.pruned == 3
    assert left == []


async def _insert(
    database: Database, user_id: str, conversation_id: str, status: str, when: datetime
) -> str:
    row_id = new_id()

    def work(conn: Connection) -> None:
        conn.execute(
            notifications_table.insert().values(
                id=row_id,
                user_id=user_id,
                conversation_id=conversation_id,
                message_id=new_id(),
                status=status,
                due_at=when,
                attempts=1,
                created_at=when,
                updated_at=when,
                sent_at=when if status == "sent" else None,
                claimed_until=when + timedelta(minutes=5) if status == "sending" else None,
            )
        )

    await database.run_write(work)
    return row_id
