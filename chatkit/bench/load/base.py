"""The Locust user every profile builds on: claim a slot, set up, wait for the phases.

Each user runs one long task: set up during the ramp (open sockets), wait for the conductor's
*go*, load the server until *drain*, then settle (wait for what is still owed, up to the
grace). After that it only waits to be stopped.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.pool
from locust import constant, task
from locust.contrib.fasthttp import FastHttpSession
from locust.contrib.socketio import SocketIOUser
from locust.env import Environment

from chatkit.bench import results as r
from chatkit.bench.load.context import BenchContext, context_of
from chatkit.bench.load.sockets import BenchSocket, SocketFailure
from chatkit.event_names import TOKEN_EXPIRED, TOKEN_REVOKED

HTTP_TIMEOUT = 30.0


class BenchUser(SocketIOUser):
    abstract = True
    wait_time = constant(1)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)  # type: ignore[no-untyped-call]
        self.bench: BenchContext = context_of(environment)
        self.plan = self.bench.plan
        self.slot = -1
        self.ok = False
        self.finished = False
        self.sockets: list[BenchSocket] = []
        self.closing = False
        self.http = FastHttpSession(
            self.plan.url,
            environment.events.request,
            user=self,
            concurrency=max(2, self.plan.in_flight + 1),
            network_timeout=HTTP_TIMEOUT,
            connection_timeout=HTTP_TIMEOUT,
        )

    # --- what a profile fills in -------------------------------------------------------------

    def setup(self) -> None:
        """Runs during the ramp; raise to mark this user as not ready."""

    def steady(self) -> None:
        """The timed phase: load the server until `self.draining`."""
        self.bench.drain.wait()

    def settle(self) -> None:
        """After sending stopped: wait for what is still owed, at most the grace period."""

    # --- the phases ---------------------------------------------------------------------------

    def on_start(self) -> None:
        self.bench.started += 1
        slot = self.bench.claim()
        if slot is None:
            self.bench.result.error(r.READY_MISSING, "no free slot for this Locust user")
            self.bench.user_ready(False)
            return
        self.slot = slot
        try:
            self.setup()
            self.ok = True
        except SocketFailure as exc:
            self.bench.result.error(r.CONNECT_FAILED, str(exc))
        self.bench.user_ready(self.ok)

    @task
    def phases(self) -> None:
        if self.finished:
            return
        self.bench.go.wait()
        if self.ok and not self.draining:
            self.steady()
        self.bench.drain.wait()
        if self.ok:
            self.settle()
        self.finished = True
        self.bench.drained += 1

    def on_stop(self) -> None:
        self.closing = True
        for socket in self.sockets:
            socket.close()

    @property
    def draining(self) -> bool:
        return bool(self.bench.drain.is_set())

    # --- helpers ------------------------------------------------------------------------------

    def open_socket(self, token: str, *, on_drop: Callable[[], None] | None = None) -> BenchSocket:
        """Connect one socket to /chat and record the connect; raises SocketFailure."""
        socket = BenchSocket(self.environment.events.request, socket_id=self._socket_id())
        result = self.bench.result

        told: list[str] = []  # what the server said before it cut the socket, if anything

        def notice(payload: Any) -> None:
            told.append(str(payload.get("message") if isinstance(payload, dict) else payload))

        def dropped(*reason: Any) -> None:
            socket.dropped = True
            if not self.closing:
                why = ", ".join(([str(reason[0])] if reason else []) + told)
                result.error(r.DROPS, f"socket {socket.socket_id} was disconnected ({why})")
                result.sample("drop", time.monotonic(), 0.0)  # when, for the report's phases
                if on_drop is not None:
                    on_drop()

        socket.on("disconnect", dropped, namespace="/chat")
        # chatkit says why before it cuts a socket (the seed's API has no such events)
        for event in (TOKEN_EXPIRED, TOKEN_REVOKED):
            socket.on(event, notice, namespace="/chat")
        started = time.monotonic()
        ms = socket.open(self.plan.url, token, transport=self.plan.transport)  # on_start counts
        result.count(r.CONNECTS)
        result.tick(r.CONNECTS, started)
        result.sample("connect", started, ms)
        self.sockets.append(socket)
        return socket

    def _socket_id(self) -> int:
        self.bench.sockets_opened += 1
        return self.bench.sockets_opened

    def repeat(self, operation: Callable[[], None], *, concurrency: int) -> None:
        """Run `operation` until drain: open loop at the plan's rate, else closed loop.

        Open loop: this user's share of `--rate` is started on schedule in a new greenlet,
        whether or not earlier ones have finished (so a slow server cannot slow the offered
        load down). Closed loop: `concurrency` greenlets each run it back to back.
        """
        group = gevent.pool.Group()
        if self.plan.rate:
            interval = self.plan.users / self.plan.rate
            next_at = time.monotonic() + random.uniform(0, interval)
            while not self.draining:
                delay = next_at - time.monotonic()
                if delay > 0:
                    gevent.sleep(delay)
                # How late the generator starts what was due: large values mean the load
                # generator, not the server, set the pace.
                self.bench.result.sample("lag", next_at, (time.monotonic() - next_at) * 1000)
                group.spawn(operation)
                next_at += interval
        else:

            def loop() -> None:
                while not self.draining:
                    operation()

            for _ in range(concurrency):
                group.spawn(loop)
        group.join()

    def wait_until(self, condition: Callable[[], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() >= deadline:
                return False
            gevent.sleep(0.02)
        return True

    def auth(self, person: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.plan.people[person].token}"}
