"""`chatkit token`: mint a JWT the server accepts (modelled on datasette's create-token)."""

from __future__ import annotations

import json
from typing import Annotated

import jwt
import typer

from chatkit.commands.common import ConfigOption, err_console, fail, say, settings_or_exit
from chatkit.config import ConfigError
from chatkit.tokens import mint, parse_ttl


def token(
    user: Annotated[
        str | None,
        typer.Option("--user", "-u", help="The user id (UUID) the token speaks for."),
    ] = None,
    ttl: Annotated[str, typer.Option(help="Lifetime: 90s, 15m, 1h, 7d, 2w.")] = "1h",
    admin: Annotated[
        bool, typer.Option("--admin", help="Add role=admin (grants /api/admin/*).")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Also show the claims on stderr.")] = False,
    config: ConfigOption = None,
) -> None:
    """Print a signed token for USER (or a bare admin token with --admin alone)."""
    if user is None and not admin:
        fail("give --user ID (and/or --admin)", code=2, hint="example: chatkit token --user <uuid>")
    try:
        seconds = parse_ttl(ttl)
    except ValueError as exc:
        fail(str(exc), code=2)
    settings = settings_or_exit(config)
    try:
        value = mint(settings, user_id=user, ttl_seconds=seconds, admin=admin)
    except ConfigError as exc:
        fail(str(exc), code=2)
    except ValueError as exc:
        fail(str(exc), code=2)
    if debug:
        claims = jwt.decode(value, options={"verify_signature": False})
        err_console.print_json(json.dumps(claims))
    say(value)
