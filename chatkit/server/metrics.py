"""Prometheus metrics: one registry per app, or the multi-process collector with --workers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    def __init__(self, *, database_connections: Callable[[], int] | None = None) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
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

    def render(self) -> bytes:
        if os.environ.get(MULTIPROCESS_ENV):
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
