"""How the scripting commands print: data on stdout, diagnostics on stderr.

A table for a person at a terminal; for a pipe, the same rows as tab-separated lines without a
header (ids first, tabs and newlines escaped as `\\t` and `\\n`, like jq's `@tsv`), so that
`cut`, `awk` and `xargs` work on them. `--json` prints the API's JSON as is.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from chatkit.commands.common import console, err_console, say

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the API's JSON as is (one document on stdout).")
]


def emit_json(data: object) -> None:
    """One JSON document (or one JSON line) on stdout, flushed: a pipe sees it at once."""
    write_line(json.dumps(data, ensure_ascii=False))


def print_result(raw: object, line: str, *, json_output: bool) -> None:
    """What a command that changes one thing prints: the API's JSON with --json, else `line`
    (an id, a count)."""
    if json_output:
        emit_json(raw)
    else:
        write_line(line)


def write_line(text: str) -> None:
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`| head -1`): stop quietly, without a traceback at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None


def to_terminal() -> bool:
    return console.is_terminal


def note(message: str) -> None:
    """A diagnostic for a person (stderr at a terminal); scripts keep a quiet stderr."""
    if err_console.is_terminal:
        say(f"[dim]{escape(message)}[/]", to=err_console)


def tsv_field(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "")


def print_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    plain: Sequence[Sequence[object]],
    *,
    flexible: int = -1,
) -> None:
    """`rows` as a table at a terminal, `plain` (the script-friendly cells) otherwise. One
    line per row: only the `flexible` column (text) is cut short with "…" when narrow."""
    if not to_terminal():
        for row in plain:
            write_line("\t".join(tsv_field(cell) for cell in row))
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    flexible %= len(columns)
    for index, name in enumerate(columns):
        widest = max([len(name), *(len(str(row[index])) for row in rows)])
        table.add_column(
            name,
            no_wrap=True,
            overflow="ellipsis",
            min_width=None if index == flexible else widest,
            ratio=1 if index == flexible else None,
        )
    for row in rows:
        table.add_row(*(escape(str(cell)) for cell in row))
    console.print(table)


def clip(text: str, width: int = 60) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"


def when(instant: datetime) -> str:
    """A timestamp for people: local time, to the minute."""
    return instant.astimezone().strftime("%b %d %H:%M")


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Any]:
    """A progress bar on stderr (at a terminal only, and gone when done); yields a callable
    `advance(count, total=None)`."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    with bar:
        task = bar.add_task(description, total=total)

        def advance(count: int, new_total: int | None = None) -> None:
            # Drawn at each page, not only on the timer: every page shows, however fast.
            if new_total is not None:
                bar.update(task, total=new_total)
            bar.update(task, advance=count, refresh=True)

        yield advance
