"""What every command shares: loading settings, one-line errors, running against the store."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from chatkit.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    # The server's modules are imported when a command needs them, not for every `chatkit`
    # invocation: a bot calling `chatkit send` should not pay for SQLAlchemy.
    from chatkit.server.data.database import Database
    from chatkit.server.data.store import Store

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML settings file (default: ./chatkit.toml when present).",
        envvar="CHATKIT_CONFIG",
        show_default=False,
    ),
]
# How many rows a listing command shows (each command sets its own default).
LimitOption = Annotated[int, typer.Option(help="How many to show.", min=1, max=10000)]


def with_default(help_text: str, default: str) -> str:
    """`help_text` ending in `[default: DEFAULT]` as typer shows defaults, for flags that
    default to None so that chatkit.toml and CHATKIT_* still apply (the bracket is escaped:
    unescaped, rich markup would swallow it)."""
    return f"{help_text} [dim]\\[default: {escape(default)}][/]"


def say(text: str, *, to: Console = console) -> None:
    """A line for a person, as given: no highlighting (ids and numbers keep their colour) and
    no wrapping (a long id, token or path stays whole, to copy or to pipe). Rich markup in
    `text` applies; escape what comes from data."""
    to.print(text, highlight=False, soft_wrap=True)


def fail(message: str, *, code: int = 1, hint: str | None = None) -> NoReturn:
    """Print one clear line (and an optional hint) on stderr and exit."""
    # Messages are plain text: "smtp://[user:pass@]host" must not be read as rich markup.
    say(f"[bold red]error:[/] {escape(message)}", to=err_console)
    if hint:
        say(f"[dim]{escape(hint)}[/]", to=err_console)
    raise typer.Exit(code)


def settings_or_exit(config: Path | None, **flags: Any) -> Settings:
    try:
        return load_settings(config, **flags)
    except ConfigError as exc:
        fail(str(exc), code=2)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn the errors a user can cause or fix into one line instead of a traceback."""
    try:
        yield
    except ConfigError as exc:
        fail(str(exc), code=2)
    except Exception as exc:
        from sqlalchemy.exc import DBAPIError

        from chatkit.server.errors import ChatkitError

        if isinstance(exc, ChatkitError):
            fail(exc.message)
        if isinstance(exc, OSError | DBAPIError):
            reason = getattr(exc, "orig", None) or exc
            fail(
                f"cannot reach the database: {reason}",
                hint="check database_url (CHATKIT_DATABASE_URL) and that the server is running",
            )
        raise


def with_store(settings: Settings, work: Callable[[Store], Awaitable[T]], *, writes: bool) -> T:
    """Run `work` against the configured database.

    A command that writes migrates the schema to the latest first (creating the database when
    it is a new SQLite file); a read-only one never creates or migrates anything: it exits 1
    with `no database at …` when there is nothing to read.
    """
    from chatkit.server.data import migrate
    from chatkit.server.data.store import Store

    async def _main() -> T:
        database = open_database(settings, create=writes)
        try:
            if writes:
                await migrate.upgrade(database)
            else:
                await require_schema(database)
            return await work(Store(database))
        finally:
            await database.dispose()

    with friendly_errors():
        return asyncio.run(_main())
    raise AssertionError("unreachable")  # pragma: no cover


def database_label(url: str) -> str:
    """The database as a person names it: the SQLite file, else the URL without password."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(Path(parsed.database)) if parsed.database else "sqlite:// (in memory)"
    return parsed.render_as_string(hide_password=True)


def open_database(settings: Settings, *, create: bool) -> Database:
    """The Database of `settings`; with create=False a missing SQLite file is an error
    instead of a new empty file (opening one creates it)."""
    from sqlalchemy.engine import make_url

    from chatkit.server.data.database import Database

    parsed = make_url(settings.database_url)
    if not create and parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:") or not Path(path).is_file():
            fail(
                f"no database at {database_label(settings.database_url)}",
                hint="run `chatkit serve` or `chatkit db upgrade` there first, or set "
                "database_url (CHATKIT_DATABASE_URL)",
            )
    return Database(settings.database_url)


async def require_schema(database: Database) -> None:
    """Exit 1 unless the database carries chatkit's schema at the newest revision."""
    from chatkit.server.data import migrate

    current = await migrate.current_revision(database)
    label = database_label(database.url)
    if current is None:
        fail(f"no database at {label} (no chatkit schema)", hint="run `chatkit db upgrade`")
    if current != migrate.head_revision():
        fail(
            f"the database at {label} is at revision {current}, "
            f"this chatkit needs {migrate.head_revision()}",
            hint="run `chatkit db upgrade`",
        )


def ensure_secret(settings: Settings) -> None:
    """Make sure an HS* signing secret exists (generating secret_file if need be), and say on
    stderr when one was generated and where: tokens minted elsewhere will not match it."""
    from chatkit.config import signing_secret

    if not settings.jwt_algorithm.startswith("HS"):
        return

    def announce(path: Path) -> None:
        say(
            f"generated a new JWT signing secret in {path} "
            "(`chatkit token` run in this folder signs with it)",
            to=err_console,
        )

    signing_secret(settings, on_generate=announce)


def print_json(data: object) -> None:
    """JSON for scripts: plain, one document, on stdout."""
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
