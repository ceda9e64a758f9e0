"""`chatkit users`, `chatkit sessions`, `chatkit db`: the platform's data, from the shell."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from chatkit.commands.choices import SessionStatus
from chatkit.commands.common import (
    ConfigOption,
    console,
    fail,
    friendly_errors,
    open_database,
    print_json,
    settings_or_exit,
    with_store,
)
from chatkit.ids import new_id, parse_uuid
from chatkit.server.data.store.records import SessionRecord, UserRecord
from chatkit.timefmt import iso, parse_instant, utcnow

if TYPE_CHECKING:
    from chatkit.server.data.store import Store

users_app = typer.Typer(help="Add, list and change users.", no_args_is_help=True)
sessions_app = typer.Typer(help="Add and list mentoring sessions.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


def _uuid_or_exit(value: str | None, what: str) -> str:
    if value is None:
        return new_id()
    parsed = parse_uuid(value)
    if parsed is None:
        fail(f"{what} must be a UUID, got {value!r}", code=2)
    return parsed


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Option("--name", "-n", help="Full name.")],
    email: Annotated[str, typer.Option("--email", "-e", help="Email address.")],
    avatar: Annotated[str | None, typer.Option(help="Avatar URL.")] = None,
    user_id: Annotated[
        str | None, typer.Option("--id", help="Use this UUID (default: a new one).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Create (or update, with --id) a user and print its id."""
    from chatkit.server.wire.schemas import UserIn, validate

    settings = settings_or_exit(config)
    uid = _uuid_or_exit(user_id, "--id")
    with friendly_errors():
        payload = validate(UserIn, {"fullName": name, "email": email, "avatarUrl": avatar})

    async def work(store: Store) -> tuple[UserRecord, bool]:
        return await store.users.upsert(
            user_id=uid,
            full_name=payload.full_name,
            email=payload.email,
            avatar_url=payload.avatar_url,
        )

    record, created = with_store(settings, work, writes=True)
    console.print(record.id, highlight=False)


@users_app.command("list")
def users_list(
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    config: ConfigOption = None,
) -> None:
    """List users."""
    settings = settings_or_exit(config)

    async def work(store: Store) -> list[UserRecord]:
        return await store.users.list(limit=limit)

    records = with_store(settings, work, writes=False)
    if as_json:
        from chatkit.server.wire import render

        print_json([render.user(record) for record in records])
        return
    table = Table(title=f"{len(records)} users", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("email", overflow="fold")
    table.add_column("emails")
    for record in records:
        table.add_row(
            record.id, record.full_name, record.email, "on" if record.notify_email else "off"
        )
    console.print(table)


def _set_notify_email(user_id: str, enabled: bool, config: ConfigOption) -> None:
    settings = settings_or_exit(config)
    uid = _uuid_or_exit(user_id, "USER_ID")

    async def work(store: Store) -> None:
        await store.users.set_notify_email(user_id=uid, enabled=enabled)

    with_store(settings, work, writes=True)
    state = "on" if enabled else "off"
    console.print(f"notification emails for {uid} are {state}", highlight=False)


@users_app.command("notify-off")
def users_notify_off(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    config: ConfigOption = None,
) -> None:
    """Stop emailing USER_ID about messages that arrive while they are offline."""
    _set_notify_email(user_id, False, config)


@users_app.command("notify-on")
def users_notify_on(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    config: ConfigOption = None,
) -> None:
    """Email USER_ID again about messages that arrive while they are offline."""
    _set_notify_email(user_id, True, config)


@users_app.command("revoke-tokens")
def users_revoke_tokens(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    config: ConfigOption = None,
) -> None:
    """Refuse every token of USER_ID issued before now."""
    settings = settings_or_exit(config)
    uid = _uuid_or_exit(user_id, "USER_ID")

    async def work(store: Store) -> datetime:
        return await store.users.revoke_tokens(user_id=uid)

    instant = with_store(settings, work, writes=True)
    console.print(f"tokens of {uid} issued before {iso(instant)} are refused", highlight=False)


@users_app.command("remove")
def users_remove(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    config: ConfigOption = None,
) -> None:
    """Delete a user who takes part in no session; their tokens stop working."""
    settings = settings_or_exit(config)
    uid = _uuid_or_exit(user_id, "USER_ID")

    async def work(store: Store) -> None:
        await store.users.delete(user_id=uid)

    with_store(settings, work, writes=True)
    console.print(f"removed user {uid}", highlight=False)


@sessions_app.command("add")
def sessions_add(
    mentor: Annotated[str, typer.Option(help="The mentor's user id.")],
    mentee: Annotated[str, typer.Option(help="The mentee's user id.")],
    start_at: Annotated[
        str | None, typer.Option(help="ISO-8601 instant (default: now).", show_default=False)
    ] = None,
    status: Annotated[
        SessionStatus, typer.Option(help="The session's status.")
    ] = SessionStatus.scheduled,
    session_id: Annotated[
        str | None, typer.Option("--id", help="Use this UUID (default: a new one).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Create (or update, with --id) a mentoring session and print its id."""
    settings = settings_or_exit(config)
    sid = _uuid_or_exit(session_id, "--id")
    mentor_id = _uuid_or_exit(mentor, "--mentor")
    mentee_id = _uuid_or_exit(mentee, "--mentee")
    try:
        starts = parse_instant(start_at) if start_at else utcnow()
    except ValueError:
        fail(f"--start-at must be an ISO-8601 instant, got {start_at!r}", code=2)

    async def work(store: Store) -> tuple[SessionRecord, bool]:
        return await store.sessions.upsert(
            session_id=sid,
            mentor_id=mentor_id,
            mentee_id=mentee_id,
            start_at=starts,
            status=status.value,
        )

    record, _created = with_store(settings, work, writes=True)
    console.print(record.id, highlight=False)


@sessions_app.command("list")
def sessions_list(
    user: Annotated[
        str | None, typer.Option("--user", help="Only sessions this user takes part in.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    config: ConfigOption = None,
) -> None:
    """List mentoring sessions, latest start first."""
    settings = settings_or_exit(config)
    user_id = _uuid_or_exit(user, "--user") if user else None

    async def work(store: Store) -> tuple[list[SessionRecord], dict[str, str]]:
        records = await store.sessions.list(user_id=user_id, limit=limit)
        ids = {r.mentor_id for r in records} | {r.mentee_id for r in records}
        return records, await store.users.names(ids)

    records, names = with_store(settings, work, writes=False)
    if as_json:
        from chatkit.server.wire import render

        print_json([render.session(record) for record in records])
        return
    table = Table(title=f"{len(records)} sessions", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("mentor → mentee")
    table.add_column("starts (UTC)")
    table.add_column("status", no_wrap=True)
    for record in records:
        mentor = names.get(record.mentor_id, record.mentor_id)
        mentee = names.get(record.mentee_id, record.mentee_id)
        table.add_row(
            record.id,
            f"{mentor} → {mentee}",
            iso(record.start_at)[:16].replace("T", " "),
            record.status,
        )
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply every pending migration (chatkit serve also does this on start)."""
    import asyncio

    from chatkit.server.data import migrate
    from chatkit.server.data.database import Database

    settings = settings_or_exit(config)

    async def _main() -> tuple[str | None, str | None]:
        database = Database(settings.database_url)
        try:
            before = await migrate.current_revision(database)
            await migrate.upgrade(database)
            return before, await migrate.current_revision(database)
        finally:
            await database.dispose()

    with friendly_errors():
        before, after = asyncio.run(_main())
    if before == after:
        console.print(f"database is up to date (revision {after})", highlight=False)
    else:
        console.print(f"database upgraded from {before or 'empty'} to {after}", highlight=False)


@db_app.command("current")
def db_current(config: ConfigOption = None) -> None:
    """Show the database's schema revision and the newest one this chatkit knows."""
    import asyncio

    from chatkit.server.data import migrate

    settings = settings_or_exit(config)

    async def _main() -> str | None:
        database = open_database(settings, create=False)
        try:
            return await migrate.current_revision(database)
        finally:
            await database.dispose()

    with friendly_errors():
        current = asyncio.run(_main())
    console.print(
        f"current: {current or 'empty'}; newest: {migrate.head_revision()}", highlight=False
    )
