"""`chatkit tui`: the terminal chat client, against any server that implements the API."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatkit.commands.common import ConfigOption, fail, settings_or_exit
from chatkit.config import ConfigError, Settings

if TYPE_CHECKING:
    from chatkit.tui import TuiOptions

TOKEN_TTL_SECONDS = 12 * 3600
RENEW_BEFORE_SECONDS = 300


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


def tui(
    url: Annotated[
        str | None,
        typer.Option(
            help="The chat server (default: where the local config's server listens, http://127.0.0.1:4000).",
            envvar="CHATKIT_URL",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help="Your JWT.", envvar="CHATKIT_TOKEN", show_default=False),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            "-u",
            help="Mint a token for this user id from the local config (next to the server).",
            show_default=False,
        ),
    ] = None,
    theme: Annotated[str, typer.Option(help="dark or light.")] = "dark",
    config: ConfigOption = None,
) -> None:
    """Chat in the terminal. With no --token/--user, pick one of the `chatkit demo` users."""
    from chatkit.tui import make_app

    options = options_from_flags(url=url, token=token, user=user, theme=theme, config=config)
    _preflight(options.url, options.token)
    make_app(options).run()


def options_from_flags(
    *,
    url: str | None,
    token: str | None,
    user: str | None,
    theme: str,
    config: Path | None,
) -> TuiOptions:
    """Where to connect and as whom: --token, else --user (minted locally), else the demo
    users to pick from (minted locally)."""
    from chatkit.tui import TuiOptions, UserChoice

    if theme not in ("dark", "light"):
        fail(f"--theme must be dark or light, not {theme!r}", code=2)
    # The local config tells where a server next to us listens, and signs --user tokens.
    settings = settings_or_exit(config) if token is None or url is None else None
    base = (url or (local_url(settings) if settings else "http://127.0.0.1:4000")).rstrip("/")
    if not base.startswith(("http://", "https://")):
        fail(f"--url must start with http:// or https://, got {base!r}", code=2)
    options = TuiOptions(url=base, theme=theme)
    try:
        if token is not None:
            options.token = token
        elif user is not None:
            assert settings is not None
            minted = MintedToken(settings, user)
            minted()  # a bad user id or key fails here, in one line, not inside the app
            options.token = minted
        else:
            from chatkit import demo

            assert settings is not None
            options.choices = [
                UserChoice(person.name, person.role, person.id, MintedToken(settings, person.id))
                for person in demo.USERS
            ]
            options.choices[0].token()
    except (ConfigError, ValueError) as exc:
        fail(str(exc), code=2)
    return options


def _preflight(url: str, token: object) -> None:
    """One clear line now beats a client stuck on "reconnecting" for a mistyped URL or a
    token the server refuses."""
    from chatkit.client import ApiClient, ApiError

    async def check() -> None:
        async with ApiClient(url, token if token is not None else "") as api:  # type: ignore[arg-type]
            if token is None:
                await api.request_with_status("GET", "/healthz")
            else:
                await api.conversations(limit=1)

    try:
        asyncio.run(check())
    except ApiError as exc:
        if exc.status == 0:
            fail(exc.message, hint="is `chatkit serve` running there? (--url to point elsewhere)")
        if exc.status == 401:
            fail(
                f"the server refused the token: {exc.message}",
                hint="mint one with `chatkit token --user ID`, or use --user ID next to the server",
            )
        fail(str(exc))
