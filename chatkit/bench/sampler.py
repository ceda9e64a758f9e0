"""CPU seconds and RSS of a local process tree, sampled in a thread while the run goes on."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from dataclasses import dataclass

import psutil

INTERVAL = 0.25


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic()
    cpu_seconds: float  # user + system, whole tree, since it started
    rss_bytes: int
    machine_busy_seconds: float  # all processes on all cores, since boot


class ProcessSampler:
    """Samples a process and its children (`chatkit serve --workers N` forks) every 250 ms."""

    def __init__(self, pid: int, *, interval: float = INTERVAL) -> None:
        self._root = psutil.Process(pid)
        self._known: dict[int, psutil.Process] = {pid: self._root}
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chatkit-bench-sampler", daemon=True)
        self.samples: list[Sample] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        self.take()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.take()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.take()

    def take(self) -> Sample | None:
        cpu, rss = 0.0, 0
        try:
            for child in self._root.children(recursive=True):
                self._known.setdefault(child.pid, child)
        except psutil.Error:
            pass
        alive = False
        for process in list(self._known.values()):
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    cpu += times.user + times.system
                    rss += process.memory_info().rss
                alive = True
            except psutil.Error:
                continue
        if not alive:
            return None
        machine = psutil.cpu_times()
        busy = machine.user + machine.system + getattr(machine, "nice", 0.0)
        busy += getattr(machine, "irq", 0.0) + getattr(machine, "softirq", 0.0)
        busy += getattr(machine, "steal", 0.0)
        sample = Sample(time.monotonic(), cpu, rss, busy)
        with self._lock:
            self.samples.append(sample)
        return sample

    # --- reading ------------------------------------------------------------------------------

    def cpu_between(self, start: float, end: float) -> float | None:
        """CPU seconds the process tree used between two instants (interpolated)."""
        before, after = self._at(start, "cpu_seconds"), self._at(end, "cpu_seconds")
        if before is None or after is None:
            return None
        return max(0.0, after - before)

    def machine_between(self, start: float, end: float) -> float | None:
        """CPU seconds the whole machine (every process, every core) was busy meanwhile."""
        before = self._at(start, "machine_busy_seconds")
        after = self._at(end, "machine_busy_seconds")
        if before is None or after is None:
            return None
        return max(0.0, after - before)

    def _at(self, at: float, field: str) -> float | None:
        samples = self._snapshot()
        if len(samples) < 2 or at < samples[0].at - self._interval:
            return None
        index = bisect_left([sample.at for sample in samples], at)
        if index == 0:
            return float(getattr(samples[0], field))
        if index >= len(samples):
            return float(getattr(samples[-1], field))
        low, high = samples[index - 1], samples[index]
        share = (at - low.at) / (high.at - low.at) if high.at > low.at else 0.0
        low_value, high_value = float(getattr(low, field)), float(getattr(high, field))
        return low_value + share * (high_value - low_value)

    def rss_before(self, at: float) -> int | None:
        """RSS of the last sample taken at or before `at`."""
        candidates = [sample for sample in self._snapshot() if sample.at <= at]
        return candidates[-1].rss_bytes if candidates else None

    def rss_peak(self, start: float, end: float) -> int | None:
        inside = [sample.rss_bytes for sample in self._snapshot() if start <= sample.at <= end]
        return max(inside) if inside else None

    def recent(self) -> tuple[float, int] | None:
        """CPU use over the last second (1.0 = one core busy) and the current RSS."""
        samples = self._snapshot()
        if len(samples) < 2:
            return None
        last = samples[-1]
        earlier = next((s for s in reversed(samples) if last.at - s.at >= 1.0), samples[0])
        if last.at <= earlier.at:
            return None
        return (last.cpu_seconds - earlier.cpu_seconds) / (last.at - earlier.at), last.rss_bytes

    def _snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self.samples)
