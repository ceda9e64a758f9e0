"""`chatkit users`, `chatkit sessions`, `chatkit db`: the platform's data, from the shell."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from chatkit.commands.admin_backends import AdminOptions
from chatkit.commands.choices import SessionStatus
from chatkit.commands.common import (
    ConfigOption,
    LimitOption,
    console,
    fail,
    friendly_errors,
    open_database,
    print_json,
    say,
    settings_or_exit,
)
from chatkit.commands.option_groups import with_option_groups
from chatkit.ids import new_id, parse_uuid
from chatkit.timefmt import iso, parse_instant, utcnow

users_app = typer.Typer(
    help="Add, list and change users (here, or on a server with --url).", no_args_is_help=True
)
sessions_app = typer.Typer(
    help="Add and list mentoring sessions (here, or on a server with --url).",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)

# `add` creates, or with --id updates (a put, as the admin API does).
NewIdOption = Annotated[
    str | None, typer.Option("--id", help="Use this UUID.", show_default="a new one")
]
TableJsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _uuid_or_exit(value: str | None, what: str) -> str:
    if value is None:
        return new_id()
    parsed = parse_uuid(value)
    if parsed is None:
        fail(f"{what} must be a UUID, got {value!r}", code=2)
    return parsed


@users_app.command("add")
@with_option_groups
def users_add(
    name: Annotated[str, typer.Option("--name", "-n", help="Full name.")],
    email: Annotated[str, typer.Option("--email", "-e", help="Email address.")],
    avatar: Annotated[str | None, typer.Option(help="Avatar URL.", show_default="none")] = None,
    user_id: NewIdOption = None,
    *,
    admin: AdminOptions,
) -> None:
    """Create (or update, with --id) a user and print its id."""
    uid = _uuid_or_exit(user_id, "--id")
    backend = admin.backend()
    user = backend.put_user(uid, {"fullName": name, "email": email, "avatarUrl": avatar})
    say(user["id"])


@users_app.command("list")
@with_option_groups
def users_list(
    limit: LimitOption = 100,
    as_json: TableJsonOption = False,
    *,
    admin: AdminOptions,
) -> None:
    """List users."""
    users = admin.backend().list_users(limit)
    if as_json:
        print_json(users)
        return
    table = Table(title=f"{len(users)} users", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("email", overflow="fold")
    table.add_column("emails")
    for user in users:
        emails = "on" if user.get("notifyEmail", True) else "off"
        table.add_row(user["id"], user["fullName"], user["email"], emails)
    console.print(table)


def _set_notify_email(user_id: str, enabled: bool, admin: AdminOptions) -> None:
    uid = _uuid_or_exit(user_id, "USER_ID")
    admin.backend().set_notify_email(uid, enabled)
    state = "on" if enabled else "off"
    say(f"notification emails for {uid} are {state}")


UserIdArgument = Annotated[str, typer.Argument(help="The user's id.")]


@users_app.command("notify-off")
@with_option_groups
def users_notify_off(user_id: UserIdArgument, *, admin: AdminOptions) -> None:
    """Stop emailing USER_ID about messages that arrive while they are offline."""
    _set_notify_email(user_id, False, admin)


@users_app.command("notify-on")
@with_option_groups
def users_notify_on(user_id: UserIdArgument, *, admin: AdminOptions) -> None:
    """Email USER_ID again about messages that arrive while they are offline."""
    _set_notify_email(user_id, True, admin)


@users_app.command("revoke-tokens")
@with_option_groups
def users_revoke_tokens(user_id: UserIdArgument, *, admin: AdminOptions) -> None:
    """Refuse every token of USER_ID issued before now."""
    uid = _uuid_or_exit(user_id, "USER_ID")
    instant = admin.backend().revoke_tokens(uid)
    say(f"tokens of {uid} issued before {instant} are refused")


@users_app.command("remove")
@with_option_groups
def users_remove(user_id: UserIdArgument, *, admin: AdminOptions) -> None:
    """Delete a user who takes part in no session; their tokens stop working."""
    uid = _uuid_or_exit(user_id, "USER_ID")
    admin.backend().remove_user(uid)
    say(f"removed user {uid}")


@sessions_app.command("add")
@with_option_groups
def sessions_add(
    mentor: Annotated[str, typer.Option(help="The mentor's user id.")],
    mentee: Annotated[str, typer.Option(help="The mentee's user id.")],
    start_at: Annotated[
        str | None, typer.Option(help="ISO-8601 instant.", show_default="now")
    ] = None,
    status: Annotated[
        SessionStatus, typer.Option(help="The session's status.")
    ] = SessionStatus.scheduled,
    session_id: NewIdOption = None,
    *,
    admin: AdminOptions,
) -> None:
    """Create (or update, with --id) a mentoring session and print its id."""
    sid = _uuid_or_exit(session_id, "--id")
    mentor_id = _uuid_or_exit(mentor, "--mentor")
    mentee_id = _uuid_or_exit(mentee, "--mentee")
    try:
        starts = parse_instant(start_at) if start_at else utcnow()
    except ValueError:
        fail(f"--start-at must be an ISO-8601 instant, got {start_at!r}", code=2)
    fields = {
        "mentorId": mentor_id,
        "menteeId": mentee_id,
        "startAt": iso(starts),
        "status": status.value,
    }
    session = admin.backend().put_session(sid, fields)
    say(session["id"])


@sessions_app.command("list")
@with_option_groups
def sessions_list(
    user: Annotated[
        str | None,
        typer.Option("--user", help="Only sessions this user takes part in.", show_default="all"),
    ] = None,
    limit: LimitOption = 100,
    as_json: TableJsonOption = False,
    *,
    admin: AdminOptions,
) -> None:
    """List mentoring sessions, latest start first."""
    user_id = _uuid_or_exit(user, "--user") if user else None
    sessions, names = admin.backend().list_sessions(user_id, limit)
    if as_json:
        print_json(sessions)
        return
    table = Table(title=f"{len(sessions)} sessions", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("mentor → mentee")
    table.add_column("starts (UTC)")
    table.add_column("status", no_wrap=True)
    for session in sessions:
        mentor = names.get(session["mentorId"], session["mentorId"])
        mentee = names.get(session["menteeId"], session["menteeId"])
        table.add_row(
            session["id"],
            f"{mentor} → {mentee}",
            session["startAt"][:16].replace("T", " "),
            session["status"],
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
        say(f"database is up to date (revision {after})")
    else:
        say(f"database upgraded from {before or 'empty'} to {after}")


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
