"""`chatkit serve`: the chat server."""

from __future__ import annotations

from typing import Annotated

import typer

from chatkit.commands.choices import LogFormat, LogLevel, value_of
from chatkit.commands.common import (
    ConfigOption,
    ensure_secret,
    friendly_errors,
    say,
    settings_or_exit,
    with_default,
)

# The flags default to None so that chatkit.toml and CHATKIT_* still apply; --help shows the
# built-in default as a string instead.
LogLevelOption = Annotated[
    LogLevel | None,
    typer.Option(
        help=with_default("How much the server logs.", "info"),
        show_default=False,
        case_sensitive=False,
    ),
]


def serve(
    host: Annotated[
        str | None,
        typer.Option(help=with_default("Address to listen on.", "127.0.0.1"), show_default=False),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help=with_default("Port to listen on.", "4000"), show_default=False),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help=with_default("Processes sharing the port (needs redis_url).", "1"),
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    log_level: LogLevelOption = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            help=with_default("text, or json for one object per line.", "text"), show_default=False
        ),
    ] = None,
) -> None:
    """Run the chat server: REST under /api and Socket.IO namespace /chat on one port."""
    settings = settings_or_exit(
        config,
        host=host,
        port=port,
        workers=workers,
        log_level=value_of(log_level),
        log_format=value_of(log_format),
    )
    from chatkit.server.runner import run

    database = settings.database_url.split("://", 1)[0].split("+", 1)[0]

    def ready(url: str) -> None:
        say(
            f"chatkit serving on [bold]{url}[/] ({database}; Socket.IO namespace /chat) "
            "— Ctrl-C to stop"
        )

    with friendly_errors():
        ensure_secret(settings)
        try:
            run(settings, on_ready=ready)
        except OSError as exc:
            if exc.errno in (98, 48):  # EADDRINUSE on Linux / macOS
                from chatkit.commands.common import fail

                fail(
                    f"port {settings.port} on {settings.host} is already in use",
                    hint="stop the other server or pass --port",
                )
            raise
        except KeyboardInterrupt:
            pass
