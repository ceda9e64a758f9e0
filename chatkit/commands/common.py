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


def fail(message: str, *, code: int = 1, hint: str | None = None) -> NoReturn:
    """Print one clear line (and an optional hint) on stderr and exit."""
    # Messages are plain text: "smtp://[user:pass@]host" must not be read as rich markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if hint:
        err_console.print(f"[dim]{escape(hint)}[/]", highlight=False, soft_wrap=True)
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


def with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    """Run `work` against the configured database, migrated to the latest schema first."""
    from chatkit.server.data import migrate
    from chatkit.server.data.database import Database
    from chatkit.server.data.store import Store

    async def _main() -> T:
        database = Database(settings.database_url)
        try:
            await migrate.upgrade(database)
            return await work(Store(database))
        finally:
            await database.dispose()

    with friendly_errors():
        return asyncio.run(_main())
    raise AssertionError("unreachable")  # pragma: no cover


def print_json(data: object) -> None:
    """JSON for scripts: plain, one document, on stdout."""
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def is_tty() -> bool:
    return sys.stdout.isatty()
