"""Prometheus metrics: one registry per app, or the multi-process collector with --workers."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# With --workers, each worker copies its own process figures into these gauges this often (the
# scrape reaches one worker; the others' figures are at most this old).
PROCESS_REFRESH_SECONDS = 5.0
PROCESS_METRICS = {
    "process_cpu_seconds_total": "Total user and system CPU time spent in seconds.",
    "process_resident_memory_bytes": "Resident memory size in bytes.",
    "process_virtual_memory_bytes": "Virtual memory size in bytes.",
    "process_open_fds": "Number of open file descriptors.",
    "process_max_fds": "Maximum number of open file descriptors.",
    "process_start_time_seconds": "Start time of the process since unix epoch in seconds.",
}
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    def __init__(self, *, database_connections: Callable[[], int] | None = None) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self._process = ProcessCollector(registry=None)
        self._process_gauges: dict[str, Gauge] = {}
        self._refresher: asyncio.Task[None] | None = None
        if os.environ.get(MULTIPROCESS_ENV):
            # The multi-process collector only reads the files the workers write, so each
            # worker writes its CPU, memory and fds into gauges labelled with its pid.
            self._process_gauges = {
                name: Gauge(name, doc, registry=registry, multiprocess_mode="liveall")
                for name, doc in PROCESS_METRICS.items()
            }
        else:
            registry.register(self._process)
        self.connected_sockets = Gauge(
            "chatkit_connected_sockets",
            "Socket.IO connections to the /chat namespace",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.events_emitted = Counter(
            "chatkit_events_emitted",
            "Socket.IO events emitted to rooms, by event name",
            ["event"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "chatkit_http_request_duration_seconds",
            "REST request handling time",
            ["method", "route", "status"],
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        self.commit_duration = Histogram(
            "chatkit_db_commit_duration_seconds",
            "Time to write and commit one batch of messages and read receipts",
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        self.batch_size = Histogram(
            "chatkit_write_batch_operations",
            "Messages and read receipts committed together in one transaction",
            registry=registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        )
        self.messages_stored = Counter(
            "chatkit_messages_stored", "Messages committed to the database", registry=registry
        )
        self.notifications_pending = Gauge(
            "chatkit_notifications_pending",
            "Email notifications waiting in the outbox",
            registry=registry,
            multiprocess_mode="max",
        )

        if not os.environ.get(MULTIPROCESS_ENV):
            # Read when scraped, in the event loop's thread (the /metrics handler): what a
            # leak shows as (`chatkit bench soak` watches both). One process only: the
            # multi-process collector cannot call functions.
            Gauge(
                "chatkit_asyncio_tasks", "asyncio tasks alive in this process", registry=registry
            ).set_function(_asyncio_tasks)
            if database_connections is not None:
                Gauge(
                    "chatkit_db_connections",
                    "Database connections the pools hold open, in use or idle",
                    registry=registry,
                ).set_function(database_connections)

    def refresh_process(self) -> None:
        """Copy this process's figures into its per-worker gauges (multi-process mode)."""
        for family in self._process.collect():
            for sample in family.samples:
                gauge = self._process_gauges.get(sample.name)
                if gauge is not None:
                    gauge.set(sample.value)

    def start(self) -> None:
        """With --workers: keep this worker's process gauges fresh while it runs."""
        if self._process_gauges and self._refresher is None:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_forever())

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None

    async def _refresh_forever(self) -> None:
        while True:
            self.refresh_process()
            await asyncio.sleep(PROCESS_REFRESH_SECONDS)

    def render(self) -> bytes:
        if os.environ.get(MULTIPROCESS_ENV):
            self.refresh_process()  # the scraped worker's own figures are current
            combined = CollectorRegistry()
            MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
            return bytes(generate_latest(combined))
        return bytes(generate_latest(self.registry))

    def observe_request(self, request: web.Request, status: int, seconds: float) -> None:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        self.http_duration.labels(request.method, route, str(status)).observe(seconds)


def _asyncio_tasks() -> float:
    try:
        return float(len(asyncio.all_tasks()))
    except RuntimeError:  # no running loop: scraped from elsewhere than the handler
        return 0.0


CONTENT_TYPE = CONTENT_TYPE_LATEST
