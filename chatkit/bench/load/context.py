"""How the Locust processes of one run agree on its phases, and where they keep results.

Phases: *ramp* (users start and open their sockets; nothing is sent), *steady* (the timed
phase: `duration` seconds of load), *drain* (sending stops; users wait up to `grace` for
deliveries still on their way), *done* (the shape stops Locust). The master (or the single
local process) runs the `Conductor`; every process that runs users has a `BenchContext`.
They talk through Locust's custom messages, which also work in a single local process.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.event
from locust import LoadTestShape, events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from chatkit.bench.load.sockets import report
from chatkit.bench.plan import PROGRESS_FILE, RESULTS_DIR, RUN_DIR_ENV, Plan, claim_slot
from chatkit.bench.results import READY_MISSING, WorkerResult
from chatkit.bench.tracking import MessageTracker

READY, GO, DRAIN, DRAINED = "chatkit_ready", "chatkit_go", "chatkit_drain", "chatkit_drained"
PROGRESS_INTERVAL = 0.5
READY_REPORT_INTERVAL = 0.2
RAMP_TIMEOUT_MIN = 30.0
# How long users may settle beyond the grace (socket acks time out after 10 s), and how much
# longer the conductor waits for the processes' reports before it ends the run regardless.
SETTLE_EXTRA = 12.0
REPORT_EXTRA = 10.0


def run_dir() -> Path:
    return Path(os.environ[RUN_DIR_ENV])


class BenchContext:
    """One Locust process's view of the run: the plan, its users' results, the phase."""

    def __init__(self, environment: Environment, directory: Path) -> None:
        self.environment = environment
        self.run_dir = directory
        self.plan = Plan.load(directory)
        self.result = WorkerResult()
        self.go = gevent.event.Event()
        self.drain = gevent.event.Event()
        self.started = 0
        self.ready = 0
        self.failed = 0
        self.drained = 0
        self.sockets_opened = 0
        self.trackers: list[MessageTracker] = []
        self._next_slot = 0
        self._reported = (-1, -1)
        self._saved = False

    # --- users --------------------------------------------------------------------------------

    def claim(self) -> int | None:
        slot = claim_slot(self.run_dir, len(self.plan.slots), self._next_slot)
        if slot is not None:
            self._next_slot = slot + 1
        return slot

    def user_ready(self, ok: bool) -> None:
        if ok:
            self.ready += 1
        else:
            self.failed += 1
            self.result.count(READY_MISSING)

    def fire(self, kind: str, name: str, ms: float, error: Exception | None = None) -> None:
        report(self.environment.events.request, kind, name, ms, error)

    # --- talking to the conductor -------------------------------------------------------------

    def start(self) -> None:
        runner = self.environment.runner
        assert runner is not None
        runner.register_message(GO, lambda **_: self.go.set())
        runner.register_message(DRAIN, lambda **_: self._on_drain())
        gevent.spawn(self._report_ready)

    def _report_ready(self) -> None:
        runner = self.environment.runner
        assert runner is not None
        while not self.drain.is_set():
            current = (self.ready, self.failed)
            if current != self._reported:
                self._reported = current
                runner.send_message(READY, {"ready": self.ready, "failed": self.failed})
            gevent.sleep(READY_REPORT_INTERVAL)

    def _on_drain(self) -> None:
        self.drain.set()
        gevent.spawn(self._wait_drained)

    def _wait_drained(self) -> None:
        deadline = time.monotonic() + self.plan.grace + SETTLE_EXTRA
        while self.drained < self.started and time.monotonic() < deadline:
            gevent.sleep(0.05)
        # Saved now, not when Locust stops: stopping thousands of users can outlast the few
        # seconds Locust gives its worker processes before it interrupts them.
        self.save()
        runner = self.environment.runner
        assert runner is not None
        runner.send_message(DRAINED, {"drained": self.drained, "started": self.started})

    def save(self) -> None:
        """Close every tracker (what is still owed is lost) and write this process's result."""
        if self._saved:
            return
        self._saved = True
        for tracker in self.trackers:
            tracker.close()
        self.result.save(self.run_dir / RESULTS_DIR / f"{os.getpid()}.pickle")


class Conductor:
    """Runs in the master (or the single process): moves the run from phase to phase."""

    def __init__(self, environment: Environment, plan: Plan, directory: Path) -> None:
        self.environment = environment
        self.plan = plan
        self.progress_path = directory / PROGRESS_FILE
        self.expected_nodes = plan.processes if isinstance(environment.runner, MasterRunner) else 1
        self.phase = "ramp"
        self.times: dict[str, float] = {"ramp": time.monotonic()}
        self._ready: dict[str, tuple[int, int]] = {}
        self._drained: set[str] = set()
        self.ready_timeout = max(RAMP_TIMEOUT_MIN, 3 * plan.users / plan.spawn_rate)

    def start(self) -> None:
        runner = self.environment.runner
        assert runner is not None
        runner.register_message(READY, self._on_ready)
        runner.register_message(DRAINED, self._on_drained)
        gevent.spawn(self._ramp_watchdog)
        gevent.spawn(self._write_progress)

    @property
    def done(self) -> bool:
        return self.phase == "done"

    def _on_ready(self, msg: Any, **_: Any) -> None:
        self._ready[msg.node_id] = (msg.data["ready"], msg.data["failed"])
        settled = sum(ready + failed for ready, failed in self._ready.values())
        if self.phase == "ramp" and settled >= self.plan.users:
            self._go()

    def _ramp_watchdog(self) -> None:
        gevent.sleep(self.ready_timeout)
        if self.phase == "ramp":  # some users never reported; measure what there is
            self._go()

    def _go(self) -> None:
        self._enter("steady")
        self._send(GO)
        gevent.spawn_later(self.plan.duration, self._drain)

    def _drain(self) -> None:
        self._enter("drain")
        self._send(DRAIN)
        gevent.spawn_later(self.plan.grace + SETTLE_EXTRA + REPORT_EXTRA, self._enter, "done")

    def _on_drained(self, msg: Any, **_: Any) -> None:
        self._drained.add(msg.node_id)
        if len(self._drained) >= self.expected_nodes and self.phase == "drain":
            self._enter("done")

    def _enter(self, phase: str) -> None:
        if self.phase != "done":
            self.phase = phase
            self.times.setdefault(phase, time.monotonic())

    def _send(self, message: str) -> None:
        runner = self.environment.runner
        assert runner is not None
        runner.send_message(message, {})

    def _write_progress(self) -> None:
        while True:
            line = json.dumps(self.snapshot())
            with self.progress_path.open("a") as handle:
                handle.write(line + "\n")
            if self.done:
                return
            gevent.sleep(PROGRESS_INTERVAL)

    def snapshot(self) -> dict[str, Any]:
        runner = self.environment.runner
        stats = self.environment.stats
        entries = [
            {
                "type": entry.method,
                "name": entry.name,
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "rps": round(entry.current_rps, 1),
                "p50": entry.get_response_time_percentile(0.5),
                "p99": entry.get_response_time_percentile(0.99),
            }
            for entry in stats.entries.values()
        ]
        ready = sum(ready for ready, _ in self._ready.values())
        return {
            "t": time.monotonic(),
            "phase": self.phase,
            "times": self.times,
            "users": runner.user_count if runner is not None else 0,
            "ready": ready,
            "entries": entries,
            "failures": stats.total.num_failures,
        }


class BenchShape(LoadTestShape):
    """All users from the start (at the spawn rate) until the conductor says the run is done."""

    abstract = True

    def tick(self) -> tuple[int, float] | None:
        conductor: Conductor | None = getattr(self.runner, "chatkit_conductor", None)
        if conductor is None:
            return None
        if conductor.done:
            return None
        return conductor.plan.users, conductor.plan.spawn_rate


def install(environment: Environment) -> None:
    """Wire a Locust process up for the run (call from the locustfile's `init` event)."""
    directory = run_dir()
    runner = environment.runner
    assert runner is not None
    if not isinstance(runner, WorkerRunner):
        conductor = Conductor(environment, Plan.load(directory), directory)
        runner.chatkit_conductor = conductor  # type: ignore[attr-defined]
        conductor.start()
    if not isinstance(runner, MasterRunner):
        context = BenchContext(environment, directory)
        environment.chatkit = context  # type: ignore[attr-defined]
        context.start()
        events = environment.events
        events.test_stop.add_listener(lambda **_: context.save())  # type: ignore[no-untyped-call]
        events.cpu_warning.add_listener(  # type: ignore[no-untyped-call]
            lambda **_: setattr(context.result, "generator_cpu_warning", True)
        )


def install_on_init() -> None:
    """Call at the top level of a locustfile: every Locust process then installs itself."""

    def on_init(environment: Environment, **_: Any) -> None:
        install(environment)

    events.init.add_listener(on_init)  # type: ignore[no-untyped-call]


def context_of(environment: Environment) -> BenchContext:
    context = getattr(environment, "chatkit", None)
    assert isinstance(context, BenchContext), "the locustfile did not call install()"
    return context
