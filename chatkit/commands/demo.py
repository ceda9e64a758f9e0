"""`chatkit demo`: a ready dataset and a token per demo user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from chatkit.commands.common import (
    ConfigOption,
    console,
    ensure_secret,
    fail,
    friendly_errors,
    say,
    settings_or_exit,
    with_store,
)
from chatkit.config import ConfigError
from chatkit.tokens import mint, parse_ttl

if TYPE_CHECKING:
    from chatkit.server.data.store import Store


def demo(
    ttl: Annotated[str, typer.Option(help="Lifetime of the printed tokens.")] = "7d",
    config: ConfigOption = None,
) -> None:
    """Create demo mentors, mentees, sessions and conversations; print a token for each user."""
    from chatkit import demo as demo_data

    settings = settings_or_exit(config)
    try:
        seconds = parse_ttl(ttl)
    except ValueError as exc:
        fail(str(exc), code=2)

    async def work(store: Store) -> None:
        await demo_data.seed(store)

    with console.status("creating the demo dataset…"):
        with_store(settings, work, writes=True)
    with friendly_errors():
        ensure_secret(settings)
    console.print("[bold]chatkit demo users[/] (name, role, user id, then the token):\n")
    try:
        for user in demo_data.USERS:
            token = mint(settings, user_id=user.id, ttl_seconds=seconds)
            say(f"[bold]{user.name}[/] ({user.role})  {user.id}")
            say(f"  {token}")
    except ConfigError as exc:
        fail(str(exc), code=2)
    first = demo_data.USERS[0]
    # Commands on lines of their own, never wrapped: ids must survive copy and paste.
    for line in (
        "\nNext, in one terminal:",
        "  [bold]chatkit serve[/]",
        "and in another (or use a token above with any Socket.IO client):",
        f"  [bold]chatkit tui --user {first.id}[/]",
    ):
        say(line)
