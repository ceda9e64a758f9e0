"""`chatkit serve`: the chat server."""

from __future__ import annotations

from typing import Annotated

import typer

from chatkit.commands.common import ConfigOption, console, friendly_errors, settings_or_exit


def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on [default: 127.0.0.1].", show_default=False),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on [default: 4000].", show_default=False)
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Processes sharing the port (needs redis_url) [default: 1].", show_default=False
        ),
    ] = None,
    config: ConfigOption = None,
    log_level: Annotated[
        str | None, typer.Option(help="debug, info, warning or error.", show_default=False)
    ] = None,
    log_format: Annotated[
        str | None, typer.Option(help="text, or json for one object per line.", show_default=False)
    ] = None,
) -> None:
    """Run the chat server: REST under /api and Socket.IO namespace /chat on one port."""
    settings = settings_or_exit(
        config,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_format=log_format,
    )
    from chatkit.server.runner import run

    database = settings.database_url.split("://", 1)[0].split("+", 1)[0]

    def ready(url: str) -> None:
        console.print(
            f"chatkit serving on [bold]{url}[/] ({database}; Socket.IO namespace /chat) "
            "— Ctrl-C to stop",
            highlight=False,
            soft_wrap=True,
        )

    with friendly_errors():
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
