"""The `chatkit` command line: a thin layer over the Python API, one module per area."""

from __future__ import annotations

import typer

from chatkit import __version__
from chatkit.commands import (
    admin,
    bench,
    conversations,
    demo,
    live,
    messages,
    notify,
    serve,
    token,
    tui,
)
from chatkit.commands.connection import CLIENT

app = typer.Typer(
    name="chatkit",
    help="Real-time chat backend toolkit: server, admin commands, terminal client, load tester.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(serve.serve)
app.command()(token.token)
app.command()(demo.demo)
app.command()(bench.bench)
app.command()(tui.tui)
app.add_typer(admin.users_app, name="users")
app.add_typer(admin.sessions_app, name="sessions")
app.add_typer(admin.db_app, name="db")
app.add_typer(notify.notify_app, name="notify")
app.command(**CLIENT)(conversations.conversations)
app.command(**CLIENT)(messages.messages)
app.command(**CLIENT)(messages.send)
app.command("open-session", **CLIENT)(conversations.open_session)
app.command("read", **CLIENT)(conversations.mark_read)
app.command(**CLIENT)(live.listen)
app.command("typing", **CLIENT)(live.typing_indicator)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chatkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Real-time chat backend toolkit."""


def main() -> None:
    app()
