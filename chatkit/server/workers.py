"""`chatkit serve --workers N`: N processes on one port (SO_REUSEPORT), supervised.

The kernel spreads incoming connections over the processes; they share rooms and presence
through Redis and data through the database. A TCP connection stays with one process, so
websocket clients are fine; HTTP long-polling is not (its requests may reach different
processes), which is why docs/deployment.md puts a sticky load balancer in front for
polling clients.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import queue
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

from chatkit.config import ConfigError, Settings, signing_secret
from chatkit.server import migrate
from chatkit.server.db import Database
from chatkit.server.metrics import MULTIPROCESS_ENV

log = logging.getLogger("chatkit.workers")

READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
# A worker that dies sooner than this after starting is not restarted again and again.
MIN_UPTIME_SECONDS = 5.0


def _worker_main(settings: Settings, index: int, ready: Any) -> None:
    from chatkit.server.runner import run

    os.environ["CHATKIT_WORKER_INDEX"] = str(index)
    run(settings, on_ready=lambda url: ready.put((index, url)), run_migrations=False)


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
            args=(self._settings, index, self._ready),
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
                log.error("worker %d keeps dying (exit code %s); stopping", index, process.exitcode)
                self._stopping.set()
                return
            log.warning("worker %d exited with code %s; restarting it", index, process.exitcode)
            self._start(index)

    def _stop_all(self) -> None:
        for process, _ in self._workers.values():
            if process.exitcode is None and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process, _ in self._workers.values():
            process.join(max(0.1, deadline - time.monotonic()))
            if process.exitcode is None:
                log.error("worker %s did not stop in time; killing it", process.name)
                process.kill()
                process.join(5)
