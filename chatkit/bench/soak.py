"""What `chatkit bench soak` watches: the server's resources over time, and whether any of
them keeps growing once the warm-up is over.

A sampler thread records, every `interval` seconds, the server's RSS and open file
descriptors (its process tree, via psutil) and, from its /metrics, the asyncio tasks alive and
the database connections its pools hold. After the run the samples of the steady phase past
the warm-up are cut into four equal windows: a resource *keeps growing* when the median of
every window is above the one before and the last is above the first by more than its
allowance (so noise, a cache filling once, or a plateau all pass; a leak does not).
"""

from __future__ import annotations

import statistics
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import psutil

INTERVAL = 1.0
WINDOWS = 4
# How much a resource may rise from the first window to the last before a steady rise of
# the window medians counts as growth.
ALLOWANCES: dict[str, float] = {
    "rss_mb": 16.0,
    "open_fds": 8.0,
    "asyncio_tasks": 25.0,
    "db_connections": 2.0,
}
METRICS = {"asyncio_tasks": "chatkit_asyncio_tasks", "db_connections": "chatkit_db_connections"}


def warm_up_seconds(duration: float) -> float:
    """A quarter of the run, between 30 s and 120 s. Not less than 30: Engine.IO keeps a
    closed socket's ping task (and the socket) until its next ping is due, up to its 25-s
    ping interval, so under reconnect churn the task count climbs for 25 s, then holds."""
    return min(120.0, max(30.0, duration / 4))


@dataclass(frozen=True)
class ResourceSample:
    at: float  # time.monotonic()
    values: dict[str, float]  # rss_mb, open_fds, asyncio_tasks, db_connections (when known)


class ResourceSampler:
    def __init__(self, pid: int, metrics_url: str | None, *, interval: float = INTERVAL) -> None:
        self._root = psutil.Process(pid)
        self._metrics_url = metrics_url
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chatkit-bench-soak", daemon=True)
        self._lock = threading.Lock()
        self.samples: list[ResourceSample] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            sample = self.take()
            if sample is not None:
                with self._lock:
                    self.samples.append(sample)
            self._stop.wait(self._interval)

    def take(self) -> ResourceSample | None:
        values: dict[str, float] = {}
        try:
            processes = [self._root, *self._root.children(recursive=True)]
            rss = fds = 0
            for process in processes:
                with process.oneshot():
                    rss += process.memory_info().rss
                    fds += process.num_fds()
        except psutil.Error:
            return None
        values["rss_mb"] = rss / 1024 / 1024
        values["open_fds"] = float(fds)
        values.update(self._scrape())
        return ResourceSample(time.monotonic(), values)

    def _scrape(self) -> dict[str, float]:
        if self._metrics_url is None:
            return {}
        try:
            with urllib.request.urlopen(self._metrics_url, timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return {}
        found: dict[str, float] = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            for key, metric in METRICS.items():
                if name == metric:
                    found[key] = float(value)
        return found

    def snapshot(self) -> list[ResourceSample]:
        with self._lock:
            return list(self.samples)


def verdict(samples: list[ResourceSample], start: float, end: float) -> dict[str, Any]:
    """Per resource: first and last window medians, the peak, and whether it kept growing."""
    inside = [sample for sample in samples if start <= sample.at <= end]
    report: dict[str, Any] = {"samples": len(inside), "resources": {}}
    for name, allowance in ALLOWANCES.items():
        series = [sample.values[name] for sample in inside if name in sample.values]
        report["resources"][name] = _trend(series, allowance)
    return report


def _trend(series: list[float], allowance: float) -> dict[str, Any]:
    if len(series) < 2 * WINDOWS:
        return {"measured": False, "growing": False}
    size = len(series) // WINDOWS
    medians = [statistics.median(series[i * size : (i + 1) * size]) for i in range(WINDOWS)]
    rising = all(later > earlier for earlier, later in zip(medians, medians[1:], strict=False))
    growth = medians[-1] - medians[0]
    return {
        "measured": True,
        "window_medians": [round(value, 1) for value in medians],
        "peak": round(max(series), 1),
        "growth": round(growth, 1),
        "allowance": allowance,
        "growing": rising and growth > allowance,
    }


def failures(report: dict[str, Any]) -> list[str]:
    found = []
    for name, trend in report["resources"].items():
        if trend["growing"]:
            medians = " → ".join(str(value) for value in trend["window_medians"])
            found.append(
                f"server {name} kept growing after the warm-up: {medians} "
                f"(medians of four windows; +{trend['growth']}, allowed +{trend['allowance']})"
            )
    if not report["resources"]["rss_mb"]["measured"]:
        found.append("soak: too few samples after the warm-up to tell (run longer)")
    return found
