"""Run the server until SIGINT/SIGTERM, then shut down gracefully: in this process, or in
`workers` processes on one port under a supervisor.

`chatkit serve --workers N`: N processes on one port (SO_REUSEPORT), supervised.
The kernel spreads incoming connections over the processes; they share rooms and presence
through Redis and data through the database. A TCP connection stays with one process, so
websocket clients are fine; HTTP long-polling is not (its requests may reach different
processes), which is why docs/deployment.md puts a sticky load balancer in front for
polling clients.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import queue
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

from chatkit.config import ConfigError, Settings, signing_secret
from chatkit.server.app import create_app
from chatkit.server.data import migrate
from chatkit.server.data.database import Database
from chatkit.server.http import logs
from chatkit.server.http.parser_errors import JsonErrorRunner
from chatkit.server.metrics import MULTIPROCESS_ENV
from chatkit.server.realtime.transport import front

log = logging.getLogger("chatkit.server")

SHUTDOWN_GRACE_SECONDS = 10.0


def configure_logging(settings: Settings) -> None:
    logs.configure(settings.log_level, settings.log_format)


async def serve(
    settings: Settings,
    *,
    on_ready: Callable[[str], None] | None = None,
    run_migrations: bool = True,
) -> None:
    app = create_app(settings, run_migrations=run_migrations)
    runner = JsonErrorRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
    )
    await runner.setup()
    _tune_garbage_collector()
    server: asyncio.Server | None = None
    try:
        server = await front.listen(
            runner, settings.host, settings.port, reuse_port=settings.workers > 1
        )
        url = _listening_url(server, settings)
        if on_ready is not None:
            on_ready(url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("shutting down")
    finally:
        if server is not None:
            server.close()  # no new connections; the ones open are drained by cleanup
        await runner.cleanup()


def _tune_garbage_collector() -> None:
    """Fewer, cheaper collections: a chat server allocates many short-lived objects.

    Everything alive after start-up (modules, the app, compiled SQL) is moved out of the
    collector's sight (gc.freeze), and young collections run after 50,000 allocations
    instead of 700; full collections otherwise walk the whole heap every few seconds, which
    showed as pauses of tens of milliseconds in delivery latency.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    # The database threads run Python too; the event loop should not wait the default 5 ms
    # for the interpreter lock when one of them holds it.
    sys.setswitchinterval(0.0005)


def _listening_url(server: asyncio.Server, settings: Settings) -> str:
    # The bound port matters when port 0 asked for any free one.
    sockets = server.sockets
    port = sockets[0].getsockname()[1] if sockets else settings.port
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    return f"http://{host}:{port}"


def run(
    settings: Settings,
    *,
    on_ready: Callable[[str], None] | None = None,
    run_migrations: bool = True,
) -> None:
    """Serve until SIGINT/SIGTERM; with `workers` > 1, supervise that many processes."""
    configure_logging(settings)
    if settings.workers > 1 and run_migrations:
        supervise(settings, on_ready=on_ready)
        return
    main = serve(settings, on_ready=on_ready, run_migrations=run_migrations)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is optional on platforms without it
        asyncio.run(main)
    else:
        uvloop.run(main)


# Several processes
worker_log = logging.getLogger("chatkit.workers")

READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
# A worker that dies sooner than this after starting is not restarted again and again.
MIN_UPTIME_SECONDS = 5.0


def _worker_main(settings: Settings, index: int, ready: Any, supervisor_pid: int) -> None:
    os.environ["CHATKIT_WORKER_INDEX"] = str(index)
    _stop_with_the_supervisor(supervisor_pid)
    run(settings, on_ready=lambda url: ready.put((index, url)), run_migrations=False)


def _stop_with_the_supervisor(supervisor_pid: int) -> None:
    """A worker whose supervisor is killed (SIGKILL, OOM) drains and exits instead of holding
    the port as an orphan: Linux sends it SIGTERM when the parent dies (PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):  # pragma: no cover - no prctl in this libc
        return
    if os.getppid() != supervisor_pid:  # the supervisor died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _check(settings: Settings) -> None:
    if not settings.redis_url:
        raise ConfigError(
            "invalid setting workers: more than one worker needs redis_url "
            "(CHATKIT_REDIS_URL) so that the processes share rooms and presence"
        )
    if settings.port == 0:
        raise ConfigError("invalid setting port: several workers need a fixed port, not 0")


async def _prepare(settings: Settings) -> None:
    database = Database(settings.database_url)
    try:
        await migrate.upgrade(database)
    finally:
        await database.dispose()


def supervise(settings: Settings, *, on_ready: Callable[[str], None] | None = None) -> None:
    _check(settings)
    asyncio.run(_prepare(settings))  # once, before the workers race to do it
    if settings.jwt_algorithm.startswith("HS"):
        signing_secret(settings)  # generated once here, read by every worker
    with tempfile.TemporaryDirectory(prefix="chatkit-metrics-") as metrics_dir:
        os.environ[MULTIPROCESS_ENV] = metrics_dir
        _Supervisor(settings).run(on_ready)


class _Supervisor:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._ready: Any = self._context.Queue()
        self._workers: dict[int, tuple[BaseProcess, float]] = {}
        self._stopping = threading.Event()

    def run(self, on_ready: Callable[[str], None] | None) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self._stopping.set())
        try:
            for index in range(self._settings.workers):
                self._start(index)
            url = self._wait_until_ready()
            if on_ready is not None:
                on_ready(f"{url} with {self._settings.workers} workers")
            while not self._stopping.wait(0.5):
                self._restart_dead()
        finally:
            self._stop_all()

    def _start(self, index: int) -> None:
        process = self._context.Process(
            target=_worker_main,
            args=(self._settings, index, self._ready, os.getpid()),
            name=f"chatkit-worker-{index}",
        )
        process.start()
        self._workers[index] = (process, time.monotonic())

    def _wait_until_ready(self) -> str:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        urls: dict[int, str] = {}
        while len(urls) < len(self._workers):
            if self._stopping.is_set():
                raise KeyboardInterrupt
            for process, _ in self._workers.values():
                if process.exitcode is not None:
                    raise ConfigError(
                        f"a worker exited while starting (exit code {process.exitcode}); "
                        "see its log above"
                    )
            try:
                index, url = self._ready.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise ConfigError("the workers did not start within a minute") from None
                continue
            urls[index] = url
        return next(iter(urls.values()))

    def _restart_dead(self) -> None:
        from prometheus_client.multiprocess import mark_process_dead

        for index, (process, started) in list(self._workers.items()):
            if process.exitcode is None:
                continue
            if process.pid is not None:
                mark_process_dead(process.pid)  # type: ignore[no-untyped-call]
            if time.monotonic() - started < MIN_UPTIME_SECONDS:
                worker_log.error(
                    "worker %d keeps dying (exit code %s); stopping", index, process.exitcode
                )
                self._stopping.set()
                return
            worker_log.warning(
                "worker %d exited with code %s; restarting it", index, process.exitcode
            )
            self._start(index)

    def _stop_all(self) -> None:
        for process, _ in self._workers.values():
            if process.exitcode is None and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process, _ in self._workers.values():
            process.join(max(0.1, deadline - time.monotonic()))
            if process.exitcode is None:
                worker_log.error("worker %s did not stop in time; killing it", process.name)
                process.kill()
                process.join(5)
