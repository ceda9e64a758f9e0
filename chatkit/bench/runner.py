"""One `chatkit bench` run: target, provisioning, Locust in a subprocess, the report.

Locust (and with it gevent's monkey-patching) never runs in this process: it is started as
`python -m locust` on the profile's locustfile, in the run's private temporary folder, and
everything it needs or reports goes through files there (plan.json in, progress.jsonl and
one results file per Locust process out).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from chatkit.bench import report as reports
from chatkit.bench import soak
from chatkit.bench.options import BenchOptions
from chatkit.bench.plan import PROGRESS_FILE, RESULTS_DIR, RUN_DIR_ENV, prepare_run_dir
from chatkit.bench.profiler import ServerProfile
from chatkit.bench.provision import build_plan
from chatkit.bench.results import WorkerResult
from chatkit.bench.sampler import ProcessSampler
from chatkit.bench.soak import ResourceSampler
from chatkit.bench.target import (
    BenchError,
    EmbeddedServer,
    Minter,
    minter_for_url,
    require_loopback,
)

STARTUP_ALLOWANCE = 60.0  # Locust start, workers connecting, the ramp watchdog, the drain
REFRESH = 0.25


def run(options: BenchOptions, *, config: Path | None, console: Console) -> dict[str, Any]:
    """Run the benchmark and return its report; raises BenchError when it cannot run."""
    with tempfile.TemporaryDirectory(prefix="chatkit-bench-") as folder:
        run_dir = Path(folder)
        prepare_run_dir(run_dir)
        with _target(options, run_dir, config, console) as (url, minter, server, database):
            return _run(options, run_dir, url, minter, server, database, console)


@contextmanager
def _target(
    options: BenchOptions, run_dir: Path, config: Path | None, console: Console
) -> Iterator[tuple[str, Minter, EmbeddedServer | None, str | None]]:
    target = options.target
    if target.url:
        require_loopback(target.url, allow_remote=target.allow_remote)
        minter = minter_for_url(secret=target.secret, admin_token=target.admin_token, config=config)
        yield target.url.rstrip("/"), minter, None, None
        return
    server = EmbeddedServer(
        run_dir / "server", database_url=target.database_url, settings=target.server_settings
    )
    try:
        with console.status("starting the embedded chatkit server…"):
            url = server.start()
        yield url, server.minter(), server, server.database
    finally:
        server.stop()


def _run(
    options: BenchOptions,
    run_dir: Path,
    url: str,
    minter: Minter,
    server: EmbeddedServer | None,
    database: str | None,
    console: Console,
) -> dict[str, Any]:
    pid = server.pid if server is not None else options.target.server_pid
    try:
        server_sampler = ProcessSampler(pid) if pid else None
    except psutil.Error:
        raise BenchError(f"--server-pid {pid}: no such process") from None
    profile = (
        ServerProfile(options.py_spy, pid, options.duration) if options.py_spy and pid else None
    )
    resources = (
        ResourceSampler(pid, f"{url}/metrics") if options.profile.name == "soak" and pid else None
    )
    if server_sampler is not None:
        server_sampler.start()
    if resources is not None:
        resources.start()
    try:
        started = time.monotonic()
        plan = asyncio.run(_provision(options, url, minter, console))
        setup_seconds = time.monotonic() - started
        plan.save(run_dir)
        before = server_sampler.take() if server_sampler is not None else None
        load_before = [round(value, 2) for value in os.getloadavg()]
        locust_started = time.monotonic()
        locust = _start_locust(options, run_dir, url)
        generator = ProcessSampler(locust.pid)
        generator.start()
        try:
            times, exit_code = _watch(options, run_dir, locust, server_sampler, profile, console)
        finally:
            generator.stop()
        if profile is not None:
            profile.finish()
        end = time.monotonic()
    finally:
        if server_sampler is not None:
            server_sampler.stop()
        if resources is not None:
            resources.stop()
    result, files = WorkerResult.load_all(run_dir / RESULTS_DIR)
    if files == 0:
        raise BenchError(f"Locust failed (exit code {exit_code}): {_tail(run_dir / 'locust.log')}")
    facts = reports.RunFacts(
        url=url,
        embedded=server is not None,
        configuration=server.configuration if server is not None else None,
        database=database,
        server_pid=pid,
        setup_seconds=setup_seconds,
        times=times,
        end=end,
        result_files=files,
        expected_files=options.processes,
        locust_exit_code=exit_code,
        locust_started=locust_started,
        server_rss_before=before.rss_bytes if before is not None else None,
        load_before=load_before,
    )
    report = reports.build(options, facts, result, server_sampler, generator)
    steady, drain = times.get("steady"), times.get("drain")
    if resources is not None and steady is not None and drain is not None:
        after_warm_up = steady + soak.warm_up_seconds(options.duration)
        reports.add_soak(report, soak.verdict(resources.snapshot(), after_warm_up, drain))
    return report


async def _provision(options: BenchOptions, url: str, minter: Minter, console: Console) -> Any:
    tasks: dict[str, TaskID] = {}
    columns = (TextColumn("provisioning {task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:

        def update(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done)

        return await build_plan(options, url, minter, run_id=uuid.uuid4().hex[:8], progress=update)


def _start_locust(options: BenchOptions, run_dir: Path, url: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(options.profile.locustfile),
        "--headless",
        "--host",
        url,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "10",
        "--exit-code-on-error",
        "0",
    ]
    if options.processes > 1:
        command += ["--processes", str(options.processes)]
    if options.html_file is not None:
        command += ["--html", str(options.html_file.resolve())]
    if options.csv_prefix is not None:
        command += ["--csv", str(options.csv_prefix.resolve())]
    env = {**os.environ, RUN_DIR_ENV: str(run_dir), "PYTHONUNBUFFERED": "1"}
    with (run_dir / "locust.log").open("wb") as log:
        # Its own folder: Locust would otherwise read a locust.conf or pyproject.toml here.
        return subprocess.Popen(command, cwd=run_dir, env=env, stdout=log, stderr=subprocess.STDOUT)


def _watch(
    options: BenchOptions,
    run_dir: Path,
    locust: subprocess.Popen[bytes],
    server: ProcessSampler | None,
    profile: ServerProfile | None,
    console: Console,
) -> tuple[dict[str, float], int]:
    """Follow the run until Locust exits; returns the phase times and Locust's exit code.

    On a terminal a live table; elsewhere (CI, a pipe) one line per phase.
    """
    ramp = options.users / options.spawn_rate
    deadline = time.monotonic() + STARTUP_ALLOWANCE + 3 * ramp + options.duration + options.grace
    progress = _ProgressFile(run_dir / PROGRESS_FILE)
    live = Live(console=console, refresh_per_second=4) if console.is_terminal else None
    phase = ""
    try:
        if live is not None:
            live.start()
        while True:
            finished = locust.poll() is not None
            snapshot = progress.latest()
            if profile is not None and snapshot is not None and snapshot["phase"] == "steady":
                profile.start()
            if live is not None:
                live.update(_live_view(options, snapshot, server))
            elif snapshot is not None and snapshot["phase"] != phase:
                phase = snapshot["phase"]
                console.print(f"{phase}: {_phase_line(snapshot)}", highlight=False)
            if finished:
                break
            if time.monotonic() > deadline:
                _stop(locust)
                log = _tail(run_dir / "locust.log")
                raise BenchError(f"Locust did not finish in time: {log}")
            time.sleep(REFRESH)
    except KeyboardInterrupt:
        _stop(locust)
        raise
    finally:
        if live is not None:
            live.stop()
    latest = progress.latest()
    times = {key: float(value) for key, value in (latest or {}).get("times", {}).items()}
    return times, locust.returncode


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


class _ProgressFile:
    """Reads the lines the Locust master appends, remembering where it stopped."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._latest: dict[str, Any] | None = None

    def latest(self) -> dict[str, Any] | None:
        try:
            with self._path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return self._latest
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.splitlines():
            if line.strip():
                self._latest = json.loads(line)
        return self._latest


def _live_view(
    options: BenchOptions, snapshot: dict[str, Any] | None, server: ProcessSampler | None
) -> Table:
    title = f"chatkit bench {options.profile.name}"
    if snapshot is None:
        return Table(title=f"{title}: starting Locust…", title_justify="left")
    phase = snapshot["phase"]
    elapsed = snapshot["t"] - snapshot["times"].get(phase, snapshot["t"])
    title += f" — {phase} {elapsed:.0f}s"
    if phase == "steady":
        title += f" of {options.duration:.0f}s"
    title += f", {snapshot['ready']}/{options.users} users ready"
    grid = Table(title=title, title_justify="left")
    grid.add_column("request / event")
    for column in ("count", "per s", "p50 ms", "p99 ms", "failures"):
        grid.add_column(column, justify="right")
    for entry in sorted(snapshot["entries"], key=lambda e: -e["requests"]):
        grid.add_row(
            escape(f"{entry['type']} {entry['name']}"),
            str(entry["requests"]),
            f"{entry['rps']:.0f}",
            f"{entry['p50'] or 0:.0f}",
            f"{entry['p99'] or 0:.0f}",
            str(entry["failures"]),
        )
    recent = server.recent() if server is not None else None
    if recent is not None:
        cpu, rss = recent
        grid.caption = f"server: CPU {cpu:.0%} of a core, RSS {rss / 1024 / 1024:.0f} MB"
    return grid


def _phase_line(snapshot: dict[str, Any]) -> str:
    parts = [f"{snapshot['ready']} users ready"]
    parts += [
        escape(f"{entry['type']} {entry['name']} {entry['requests']}")
        for entry in sorted(snapshot["entries"], key=lambda e: -e["requests"])[:3]
    ]
    return ", ".join(parts)


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no output)"
    return " | ".join(text[-lines:]) or "(no output)"
