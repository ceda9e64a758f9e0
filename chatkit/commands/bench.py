"""`chatkit bench`: Locust load profiles that check nothing is lost and measure delivery."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import typer

from chatkit.bench.options import PROFILES, BenchOptions, Target
from chatkit.commands.choices import BenchProfile, Transport
from chatkit.commands.common import ConfigOption, console, err_console, fail, print_json
from chatkit.commands.option_groups import OptionGroup, with_option_groups

# What `pip install chatkit` leaves out and only the bench needs (the bench extra).
BENCH_MODULES = ("locust", "gevent", "psutil")

_PROFILE_HELP = "\n\n".join(f"{spec.name}: {spec.summary}" for spec in PROFILES.values())


@dataclass(frozen=True, slots=True)
class LoadShape(OptionGroup):
    """The load a run puts on the server. Every field is a BenchOptions field of the same name;
    the ones left out (None) come from the profile."""

    users: Annotated[
        int | None, typer.Option(help="Locust users (idle: sockets).", show_default=False)
    ] = None
    spawn_rate: Annotated[
        float | None, typer.Option(help="Users started per second.", show_default=False)
    ] = None
    duration: Annotated[
        float | None,
        typer.Option(
            help="Seconds of the timed phase, after the ramp (default 20; soak 600).",
            show_default=False,
        ),
    ] = None
    rate: Annotated[
        float | None,
        typer.Option(
            help="Open loop: messages (connects, reads) per second in total, whatever the "
            "answers; without it each user keeps --in-flight going (closed loop).",
            show_default=False,
        ),
    ] = None
    processes: Annotated[int, typer.Option(help="Locust processes generating the load.")] = 1
    conversations: Annotated[
        int | None, typer.Option(help="Conversations (default: one per user).", show_default=False)
    ] = None
    tabs: Annotated[
        int | None, typer.Option(help="Sockets per participant (fanout: 10).", show_default=False)
    ] = None
    in_flight: Annotated[
        int | None,
        typer.Option(
            help="Closed loop: operations each user keeps going (burst: 16).",
            show_default=False,
        ),
    ] = None
    messages: Annotated[
        int | None,
        typer.Option(
            help="history: messages seeded before the run (default 10000).",
            show_default=False,
        ),
    ] = None
    grace: Annotated[
        float, typer.Option(help="Seconds a delivery may lag after sending stops.")
    ] = 5.0
    transport: Annotated[
        Transport, typer.Option(help="How the load's sockets talk to the server.")
    ] = Transport.websocket
    max_error_rate: Annotated[
        float, typer.Option(help="Fail above this share of failed operations.")
    ] = 0.01

    def overrides(self) -> dict[str, object]:
        """These options as BenchOptions.for_profile takes them."""
        return {**asdict(self), "transport": self.transport.value}


@dataclass(frozen=True, slots=True)
class TargetOptions(OptionGroup):
    """Where the load goes: --url and what loading it needs, or the embedded server's database
    and settings. Every field is a Target field of the same name."""

    url: Annotated[
        str | None,
        typer.Option(help="Load this server instead of an embedded one.", show_default=False),
    ] = None
    secret: Annotated[
        str | None,
        typer.Option(
            help="--url: the server's HS256 JWT secret, to mint tokens.", show_default=False
        ),
    ] = None
    admin_token: Annotated[
        str | None,
        typer.Option(help="--url: an admin token for provisioning.", show_default=False),
    ] = None
    server_pid: Annotated[
        int | None,
        typer.Option(help="--url: sample this local process's CPU and RSS.", show_default=False),
    ] = None
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a --url that is not this machine.")
    ] = False
    database_url: Annotated[
        str | None,
        typer.Option(
            help="The embedded server's database (default: a temporary SQLite file).",
            show_default=False,
        ),
    ] = None
    server_settings: Annotated[
        list[str] | None,
        typer.Option(
            "--server-setting",
            help="NAME=VALUE: run the embedded server with this setting changed (repeatable; "
            "e.g. message_rate=off). Without it the server runs in its default configuration.",
            show_default=False,
        ),
    ] = None

    def target(self) -> Target:
        """These options as the run takes them (exit 2 on a --server-setting that is not
        NAME=VALUE)."""
        return Target(**{**asdict(self), "server_settings": _pairs(self.server_settings or [])})


@with_option_groups
def bench(
    profile: Annotated[
        BenchProfile,
        typer.Argument(metavar="PROFILE", help=f"The load profile.\n\n{_PROFILE_HELP}"),
    ],
    *,
    load: LoadShape,
    where: TargetOptions,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the report as JSON on stdout (progress goes to stderr)."
        ),
    ] = False,
    report_file: Annotated[
        Path | None,
        typer.Option("--report", help="Also write the report here as JSON.", show_default=False),
    ] = None,
    html: Annotated[
        Path | None, typer.Option(help="Write Locust's HTML report here.", show_default=False)
    ] = None,
    csv: Annotated[
        Path | None,
        typer.Option(help="Write Locust's CSV files with this prefix.", show_default=False),
    ] = None,
    py_spy: Annotated[
        Path | None,
        typer.Option(
            "--py-spy",
            help="Profile the server with py-spy during the timed phase, into this file "
            "(.svg flame graph, .json speedscope, .txt collapsed stacks).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Load a chatkit server (or any server of the same API) and check that nothing is lost.

    Exits 0 when the run passed; 1 when a message was lost, duplicated or out of order, or
    errors passed --max-error-rate; 2 when it could not run.
    """
    require_bench_extra()
    from chatkit.bench import report
    from chatkit.bench.runner import run
    from chatkit.bench.target import BenchError

    options = BenchOptions.for_profile(
        profile.value,
        **load.overrides(),
        target=where.target(),
        json_file=report_file,
        html_file=html,
        csv_prefix=csv,
        py_spy=py_spy,
    )
    problems = options.problems()
    if problems:
        fail(problems[0], code=2)
    if py_spy is not None:
        from chatkit.bench.profiler import find_py_spy

        try:
            find_py_spy()
        except BenchError as exc:
            fail(str(exc), code=2)
    out = err_console if as_json else console
    try:
        result = run(options, config=config, console=out)
    except BenchError as exc:
        fail(str(exc), code=2)
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    if as_json:
        print_json(result)
    else:
        console.print(report.table(result))
    if report_file is not None:
        report_file.write_text(json.dumps(result, indent=2) + "\n")
    if not result["passed"]:
        raise typer.Exit(1)


def _pairs(values: list[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        name, equals, setting = value.partition("=")
        if not equals or not name.strip():
            fail(f"--server-setting {value!r}: expected NAME=VALUE", code=2)
        pairs.append((name.strip().lower().replace("-", "_"), setting))
    return tuple(pairs)


def require_bench_extra() -> None:
    """Exit 2 with the install command when the bench extra is not installed."""
    import importlib.util

    if any(importlib.util.find_spec(name) is None for name in BENCH_MODULES):
        fail("chatkit bench needs the bench extra: pip install 'chatkit[bench]'", code=2)
