"""`chatkit tui`: the terminal chat client, against any server that implements the API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatkit.commands.choices import Notify, Theme
from chatkit.commands.common import ConfigOption, fail, with_default
from chatkit.commands.connection import (
    MintedToken,
    TokenOption,
    UrlOption,
    UserOption,
    base_url,
    explain,
    local_settings,
    minted,
)
from chatkit.config import ConfigError

if TYPE_CHECKING:
    from chatkit.tui import TuiOptions


def tui(
    url: UrlOption = None,
    token: TokenOption = None,
    user: UserOption = None,
    theme: Annotated[Theme, typer.Option(help="Colours.")] = Theme.dark,
    notify: Annotated[
        Notify,
        typer.Option(
            help="Desktop notifications through the terminal for messages in other "
            "conversations: off, osc9 (iTerm2, WezTerm, kitty, Windows Terminal), osc777 "
            "(foot, urxvt, VTE terminals) or bell.",
        ),
    ] = Notify.off,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help=with_default(
                "Where drafts and unsent messages are kept.",
                "the user data dir, e.g. ~/.local/share/chatkit",
            ),
            show_default=False,
            file_okay=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Chat in the terminal. With no --token/--user, pick one of the `chatkit demo` users."""
    from chatkit.tui import make_app

    options = options_from_flags(
        url=url,
        token=token,
        user=user,
        theme=theme.value,
        config=config,
        notify=notify.value,
        data_dir=data_dir,
    )
    _preflight(options.url, options.token)
    make_app(options).run()


def options_from_flags(
    *,
    url: str | None,
    token: str | None,
    user: str | None,
    theme: str,
    config: Path | None,
    notify: str = "off",
    data_dir: Path | None = None,
) -> TuiOptions:
    """Where to connect and as whom: --token, else --user (minted locally), else the demo
    users to pick from (minted locally)."""
    import platformdirs

    from chatkit.tui import TuiOptions, UserChoice

    if theme not in ("dark", "light"):
        fail(f"--theme must be dark or light, not {theme!r}", code=2)
    if notify not in Notify.__members__:
        fail(f"--notify must be one of {', '.join(Notify)}, not {notify!r}", code=2)
    if user is not None:
        token = None  # --user wins over a CHATKIT_TOKEN set for the whole shell
    # The local config tells where a server next to us listens, and signs --user tokens.
    settings = local_settings(url=url, token=token, config=config)
    options = TuiOptions(
        url=base_url(url, settings),
        theme=theme,
        notify=notify,
        # platformdirs follows each system's convention (XDG_DATA_HOME on Linux).
        data_dir=data_dir if data_dir is not None else platformdirs.user_data_path("chatkit"),
    )
    if user is not None:
        assert settings is not None
        options.token = minted(settings, user)
    elif token is not None:
        options.token = token
    else:
        from chatkit import demo

        assert settings is not None
        options.choices = [
            UserChoice(person.name, person.role, person.id, MintedToken(settings, person.id))
            for person in demo.USERS
        ]
        try:
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
                await api.request("GET", "/healthz")
            else:
                await api.conversations(limit=1)

    try:
        asyncio.run(check())
    except ApiError as exc:
        explain(exc)
