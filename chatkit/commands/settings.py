"""`chatkit config`: the settings a command run here would use, and where each came from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer
from pydantic import SecretStr
from rich import box
from rich.table import Table

from chatkit.commands.choices import LogFormat, LogLevel, value_of
from chatkit.commands.common import ConfigOption, console, fail, print_json
from chatkit.config import ENV_PREFIX, ConfigError, Settings, load_with_sources

MASK = "********"
# Settings whose value may carry a password in its URL.
URL_SETTINGS = ("database_url", "redis_url", "smtp_url")


def config(
    host: Annotated[str | None, typer.Option(help="As `chatkit serve --host`.")] = None,
    port: Annotated[int | None, typer.Option(help="As `chatkit serve --port`.")] = None,
    workers: Annotated[int | None, typer.Option(help="As `chatkit serve --workers`.")] = None,
    log_level: Annotated[LogLevel | None, typer.Option(help="As `chatkit serve`.")] = None,
    log_format: Annotated[LogFormat | None, typer.Option(help="As `chatkit serve`.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    config: ConfigOption = None,
) -> None:
    """Show the effective settings and where each came from.

    The source of each is default, file, environment or flag (the flags of `chatkit serve`,
    to see their effect). Secrets and URL passwords are masked.
    """
    try:
        settings, sources, path = load_with_sources(
            config,
            host=host,
            port=port,
            workers=workers,
            log_level=value_of(log_level),
            log_format=value_of(log_format),
        )
    except ConfigError as exc:
        fail(str(exc), code=2)
    rows = {name: _row(settings, name, sources[name], path) for name in Settings.model_fields}
    if as_json:
        print_json({"file": str(path) if path else None, "settings": rows})
        return
    table = Table(
        title=f"chatkit settings (file: {path or 'none'})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("setting", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("from", no_wrap=True)
    for name, row in rows.items():
        value = row["value"]
        shown = "" if value is None else str(value).lower() if isinstance(value, bool) else value
        origin = row["source"] + (f" {row['origin']}" if row["origin"] else "")
        style = "dim" if row["source"] == "default" else ""
        table.add_row(name, str(shown), origin, style=style)
    console.print(table)


def _row(settings: Settings, name: str, source: str, path: Path | None) -> dict[str, Any]:
    origin = {
        "default": None,
        "file": str(path),
        "environment": f"{ENV_PREFIX}{name.upper()}",
        "flag": f"--{name.replace('_', '-')}",
    }[source]
    return {"value": masked(name, getattr(settings, name)), "source": source, "origin": origin}


def masked(name: str, value: object) -> object:
    """`value` fit to print: secrets replaced by a mask, URL passwords too."""
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, Path):
        return str(value)
    if name == "jwt_private_key" and isinstance(value, str) and "-----BEGIN" in value:
        return MASK
    if name in URL_SETTINGS and isinstance(value, str) and value:
        return _without_password(value)
    return value


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
