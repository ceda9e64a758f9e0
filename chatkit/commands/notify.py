"""`chatkit notify`: the email outbox — show it, requeue a notification, run the worker."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chatkit.commands.choices import NotificationStatus, value_of
from chatkit.commands.common import (
    ConfigOption,
    LimitOption,
    console,
    fail,
    friendly_errors,
    print_json,
    say,
    settings_or_exit,
    with_default,
    with_store,
)
from chatkit.commands.serve import LogLevelOption
from chatkit.ids import parse_uuid
from chatkit.server.data.store.records import NOTIFICATION_STATUSES as STATUSES
from chatkit.server.data.store.records import NotificationRecord
from chatkit.timefmt import iso, utcnow

if TYPE_CHECKING:
    from chatkit.server.data.store import Store

notify_app = typer.Typer(help="Offline-recipient email notifications.", no_args_is_help=True)

_STYLE = {
    "pending": "yellow",
    "sending": "cyan",
    "sent": "green",
    "failed": "red",
    "dropped": "dim",
}


@notify_app.command("list")
def notify_list(
    status_choice: Annotated[
        NotificationStatus | None,
        typer.Option("--status", help=with_default("Only this status.", "any"), show_default=False),
    ] = None,
    limit: LimitOption = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (counts and notifications) on stdout.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Show the outbox, newest first, with how many notifications are in each state."""
    status = value_of(status_choice)
    settings = settings_or_exit(config)

    async def work(store: Store) -> tuple[dict[str, int], list[NotificationRecord]]:
        counts = await store.notifications.counts()
        return counts, await store.notifications.list(status=status, limit=limit)

    counts, records = with_store(settings, work, writes=False)
    if as_json:
        print_json({"counts": counts, "notifications": [_json(record) for record in records]})
        return
    summary = " · ".join(f"[{_STYLE[name]}]{name} {counts[name]}[/]" for name in STATUSES)
    table = Table(title=f"notifications: {summary}", title_justify="left")
    table.add_column("id", overflow="fold", min_width=36)
    table.add_column("status")
    table.add_column("to", overflow="fold")
    table.add_column("due / sent", overflow="fold")
    table.add_column("tries", justify="right")
    table.add_column("email", overflow="fold")
    table.add_column("note", overflow="fold")
    for record in records:
        when = record.sent_at if record.sent_at is not None else record.due_at
        table.add_row(
            record.id,
            f"[{_STYLE.get(record.status, '')}]{record.status}[/]",
            record.email or record.user_id,
            f"{when:%Y-%m-%d %H:%M:%S}",
            str(record.attempts),
            (record.claim_id or "")[-8:],
            record.last_error or "",
        )
    console.print(table)
    if not records:
        console.print("no notifications" + (f" with status {status}" if status else ""))


def _json(record: NotificationRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "status": record.status,
        "userId": record.user_id,
        "email": record.email,
        "conversationId": record.conversation_id,
        "messageId": record.message_id,
        "dueAt": iso(record.due_at),
        "sentAt": iso(record.sent_at) if record.sent_at is not None else None,
        "attempts": record.attempts,
        "lastError": record.last_error,
    }


@notify_app.command("retry")
def notify_retry(
    notification_id: Annotated[str, typer.Argument(metavar="ID", help="The notification's id.")],
    config: ConfigOption = None,
) -> None:
    """Queue a failed or dropped notification again, due now, with its attempts reset."""
    settings = settings_or_exit(config)
    nid = parse_uuid(notification_id)
    if nid is None:
        fail(f"ID must be a UUID, got {notification_id!r}", code=2)

    async def work(store: Store) -> NotificationRecord:
        return await store.notifications.requeue(notification_id=nid, now=utcnow())

    record = with_store(settings, work, writes=True)
    console.print(
        f"notification {record.id} to {record.email or record.user_id} is pending again; "
        "the worker sends it on its next round",
        highlight=False,
    )


@notify_app.command("run")
def notify_run(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit.")
    ] = False,
    config: ConfigOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Run the delivery worker alone (set notify worker = false on the servers then)."""
    settings = settings_or_exit(config, log_level=value_of(log_level))
    from chatkit.server.data import migrate
    from chatkit.server.data.database import Database
    from chatkit.server.data.store.notifications import NotificationStore
    from chatkit.server.notify import build_worker
    from chatkit.server.runner import configure_logging

    configure_logging(settings)

    async def main() -> None:
        database = Database(settings.database_url)
        try:
            await migrate.upgrade(database)
            worker = build_worker(settings, NotificationStore(database))
            if once:
                report = await worker.run_once()
                console.print(
                    f"{report.emails} email(s) sent, {report.dropped} dropped, "
                    f"{report.retried} to retry, {report.failed} failed",
                    highlight=False,
                )
                return
            say(
                f"notify worker delivering to {worker.mailer.description}, looking every "
                f"{settings.notify_poll_interval:g}s — Ctrl-C to stop"
            )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            worker.start()
            await stop.wait()
            await worker.stop()
        finally:
            await database.dispose()

    with friendly_errors():
        asyncio.run(main())
