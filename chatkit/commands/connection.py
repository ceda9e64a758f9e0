"""Where a client command connects and as whom, shared by `chatkit tui` and the scripting
commands (`chatkit conversations`, `send`, `listen`, ...).

The server is `--url` (CHATKIT_URL), else where the local config's server listens. The
caller is `--token` (CHATKIT_TOKEN), else `--user ID`, minted from the local config's key —
which only works next to the server, where that key is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperCommand

from chatkit.commands.common import ConfigOption, err_console, fail, settings_or_exit
from chatkit.commands.option_groups import OptionGroup
from chatkit.config import ConfigError, Settings

if TYPE_CHECKING:
    from chatkit.client import ApiClient, ClientError, TokenSource

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:4000"
TOKEN_TTL_SECONDS = 12 * 3600
RENEW_BEFORE_SECONDS = 300

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        help="The chat server (default: where the local config's server listens, "
        "http://127.0.0.1:4000).",
        envvar="CHATKIT_URL",
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token", metavar="JWT", help="Your token.", envvar="CHATKIT_TOKEN", show_default=False
    ),
]
UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        "-u",
        metavar="ID",
        help="Mint a token for this user id from the local config (next to the server); "
        "wins over --token.",
        show_default=False,
    ),
]


# click's UsageError, whichever click typer uses (recent typers vendor their own copy).
UsageError: type[Exception] = typer.BadParameter.__mro__[1]


class ClientCommand(TyperCommand):
    """A scripting command: bad arguments are one line on stderr and exit status 2, like
    every other error of these commands (not click's usage block)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:
            hint = f"see: {ctx.command_path} --help" if err_console.is_terminal else None
            fail(exc.format_message(), code=2, hint=hint)  # type: ignore[attr-defined]


# How cli.py registers each scripting command: `app.command(**CLIENT)(module.function)`.
CLIENT: dict[str, Any] = {"cls": ClientCommand, "rich_help_panel": "Chat client (for scripts)"}


class MintedToken:
    """A token minted from the local config, minted again shortly before it expires (so a
    long session reconnects with a valid one)."""

    def __init__(self, settings: Settings, user_id: str) -> None:
        self._settings = settings
        self.user_id = user_id
        self._token = ""
        self._expires = 0.0

    def __call__(self) -> str:
        from chatkit.tokens import mint

        if time.time() > self._expires - RENEW_BEFORE_SECONDS:
            self._token = mint(self._settings, user_id=self.user_id, ttl_seconds=TOKEN_TTL_SECONDS)
            self._expires = time.time() + TOKEN_TTL_SECONDS
        return self._token


def local_url(settings: Settings) -> str:
    """Where a server started with this config listens, as seen from this machine."""
    if settings.public_url:
        return settings.public_url
    host = settings.host if settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}"


def local_settings(*, url: str | None, token: str | None, config: Path | None) -> Settings | None:
    """The local config, when it is needed: to find the server (no --url) or to mint a token
    (no --token). A remote server with a token needs nothing local."""
    return settings_or_exit(config) if token is None or url is None else None


def base_url(url: str | None, settings: Settings | None) -> str:
    base = (url or (local_url(settings) if settings else DEFAULT_URL)).rstrip("/")
    if not base.startswith(("http://", "https://")):
        fail(f"--url must start with http:// or https://, got {base!r}", code=2)
    return base


def minted(settings: Settings, user_id: str) -> MintedToken:
    """A MintedToken, minted once now: a bad user id or key fails here, in one line."""
    token = MintedToken(settings, user_id)
    try:
        token()
    except (ConfigError, ValueError) as exc:
        fail(str(exc), code=2)
    return token


@dataclass(frozen=True, slots=True)
class Connection:
    url: str
    token: TokenSource


def resolve(
    *, url: str | None, token: str | None, user: str | None, config: Path | None
) -> Connection:
    """The server and the caller of a scripting command: --user (the more specific: it wins
    over a CHATKIT_TOKEN set for the whole shell), else --token."""
    if user is not None:
        token = None
    settings = local_settings(url=url, token=token, config=config)
    base = base_url(url, settings)
    if user is not None:
        assert settings is not None
        return Connection(base, minted(settings, user))
    if token is None or not token.strip():
        fail(
            "no token: give --token (or CHATKIT_TOKEN), or --user ID next to the server",
            code=2,
        )
    return Connection(base, token.strip())


def explain(error: ClientError) -> NoReturn:
    """One line for a failed call (and, for a person at a terminal, a hint)."""
    from chatkit.client import ApiError

    hint: str | None = None
    message = str(error)
    if isinstance(error, ApiError) and error.status == 0:
        message = error.message
        hint = "is `chatkit serve` running there? (--url to point elsewhere)"
    elif isinstance(error, ApiError) and error.status == 401:
        message = f"the server refused the token: {error.message}"
        hint = "mint one with `chatkit token --user ID`, or use --user ID next to the server"
    # Scripts get exactly one line on stderr; the hint is for people.
    fail(message, hint=hint if err_console.is_terminal else None)


def with_api(
    url: str, token: str | Callable[[], str], work: Callable[[ApiClient], Awaitable[T]]
) -> T:
    """Run `work` with an ApiClient on `url`, on an event loop of its own."""
    from chatkit.client import ApiClient

    async def main() -> T:
        async with ApiClient(url, token) as api:
            return await work(api)

    return asyncio.run(main())


def run_client(connection: Connection, work: Callable[[ApiClient], Awaitable[T]]) -> T:
    """Run `work` with an ApiClient; any client error becomes one line and exit status 1."""
    from chatkit.client import ClientError

    try:
        return with_api(connection.url, connection.token, work)
    except ClientError as exc:
        explain(exc)


@dataclass(frozen=True, slots=True)
class ConnectionOptions(OptionGroup):
    """--url, --token, --user and --config, which every scripting command takes (after its own
    options): where it connects and as whom."""

    url: UrlOption = None
    token: TokenOption = None
    user: UserOption = None
    config: ConfigOption = None

    def resolve(self) -> Connection:
        """The server and the caller these options name (see `resolve` above)."""
        return resolve(url=self.url, token=self.token, user=self.user, config=self.config)

    def run(self, work: Callable[[ApiClient], Awaitable[T]]) -> T:
        """Resolve the connection (exit 2 when it cannot be), then run `work` as run_client
        does."""
        return run_client(self.resolve(), work)
