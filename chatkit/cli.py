"""The `chatkit` command line: a thin layer over the Python API, one module per area."""

from __future__ import annotations

import inspect

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
    settings,
    token,
    tui,
)
from chatkit.commands.connection import CLIENT

app = typer.Typer(
    name="chatkit",
    help="Real-time chat backend toolkit: server, admin commands, terminal client, load tester.",
    no_args_is_help=True,
    # `chatkit --install-completion` (typer drives click's `_CHATKIT_COMPLETE` protocol):
    # commands, options and the values of every fixed-choice option complete.
    add_completion=True,
    # Explicit, because help texts are written for it: [dim]…[/] styles, and defaults are
    # shown through show_default, never typed into a help string where markup would eat them.
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
app.command()(serve.serve)
app.command()(token.token)
app.command()(demo.demo)
app.command()(bench.bench)
app.command()(tui.tui)
app.command()(settings.config)
app.add_typer(admin.users_app, name="users")
app.add_typer(admin.sessions_app, name="sessions")
app.add_typer(admin.db_app, name="db")
app.add_typer(notify.notify_app, name="notify")
app.command(**CLIENT)(conversations.conversations)
app.command(**CLIENT)(messages.messages)
app.command(**CLIENT)(messages.send)
app.command(**CLIENT)(messages.edit)
app.command(**CLIENT)(messages.delete)
app.command("open-session", **CLIENT)(conversations.open_session)
app.command("read", **CLIENT)(conversations.mark_read)
app.command(**CLIENT)(live.listen)
app.command("typing", **CLIENT)(live.typing_indicator)


def _reflow(typer_app: typer.Typer) -> None:
    """Docstrings wrap at 100 columns in the source; --help should wrap them at the terminal's
    width instead of keeping the source's line breaks (which typer does after the first
    paragraph, breaking lines mid-sentence)."""
    for info in typer_app.registered_commands:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.help = reflow(info.callback.__doc__)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _reflow(group.typer_instance)


def reflow(doc: str) -> str:
    """Each paragraph of `doc` on one line."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


_reflow(app)


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
    # One name however it is started (`python -m chatkit` too): usage lines say `chatkit`,
    # and shell completion answers to _CHATKIT_COMPLETE.
    app(prog_name="chatkit")
