"""What each Locust process measured: counters, timed samples and per-100 ms counts.

Locust's own statistics round response times into buckets; the report's percentiles come
from these raw samples instead. Every time is `time.monotonic()`, which on Linux and macOS is
one clock for all processes of the machine, so the runner can line samples from several
Locust processes up with the server's CPU samples and the phases of the run.
"""

from __future__ import annotations

import math
import pickle
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

BUCKET_SECONDS = 0.1

# Counter names, in the order the report lists them.
SENT = "sent"  # POSTs answered 2xx
POST_FAILED = "post_failed"  # answered 4xx: certainly not stored
POST_UNCONFIRMED = "post_unconfirmed"  # 5xx, timeout or connection error: outcome unknown
DELIVERIES = "deliveries"  # new_message events that matched a sent message, on any socket
MESSAGES_DELIVERED = "messages_delivered"  # messages that reached every socket they should
LOST = "lost"  # (message, socket) deliveries that never arrived
LOST_MESSAGES = "lost_messages"  # messages missing on at least one socket
DUPLICATED = "duplicated"
OUT_OF_ORDER = "out_of_order"
UNEXPECTED = "unexpected"  # new_message events that match nothing this run sent
CONNECTS = "connects"
CONNECT_FAILED = "connect_failed"
DROPS = "drops"  # sockets the server closed while they should have stayed
ACKS = "acks"
ACK_FAILED = "ack_failed"
READS = "reads"  # history profile: list and page requests answered 200
READ_FAILED = "read_failed"
MISMATCHES = "mismatches"  # a 200 whose body disagreed with what was seeded
READY_MISSING = "ready_missing"  # Locust users that could not get their sockets up

OPERATION_COUNTERS = (SENT, POST_FAILED, POST_UNCONFIRMED, CONNECTS, CONNECT_FAILED, ACKS)
ERROR_COUNTERS = (
    POST_FAILED,
    POST_UNCONFIRMED,
    CONNECT_FAILED,
    DROPS,
    ACK_FAILED,
    READ_FAILED,
    MISMATCHES,
    UNEXPECTED,
    READY_MISSING,
)
CORRECTNESS_COUNTERS = (LOST, DUPLICATED, OUT_OF_ORDER)


@dataclass
class Samples:
    """Timed values: when the operation started and how long it took (ms)."""

    at: array[float] = field(default_factory=lambda: array("d"))
    ms: array[float] = field(default_factory=lambda: array("d"))

    def add(self, at: float, ms: float) -> None:
        self.at.append(at)
        self.ms.append(ms)

    def extend(self, other: Samples) -> None:
        self.at.extend(other.at)
        self.ms.extend(other.ms)

    def within(self, start: float, end: float) -> list[float]:
        return [ms for at, ms in zip(self.at, self.ms, strict=True) if start <= at < end]


@dataclass
class WorkerResult:
    counters: Counter[str] = field(default_factory=Counter)
    samples: dict[str, Samples] = field(default_factory=dict)
    buckets: dict[str, Counter[int]] = field(default_factory=dict)
    error_examples: dict[str, str] = field(default_factory=dict)
    generator_cpu_warning: bool = False

    def count(self, name: str, amount: int = 1) -> None:
        self.counters[name] += amount

    def sample(self, kind: str, at: float, ms: float) -> None:
        samples = self.samples.get(kind)
        if samples is None:
            samples = self.samples[kind] = Samples()
        samples.add(at, ms)

    def tick(self, kind: str, at: float, amount: int = 1) -> None:
        """Count `amount` events of `kind` in the 100 ms bucket of `at` (for rates)."""
        buckets = self.buckets.get(kind)
        if buckets is None:
            buckets = self.buckets[kind] = Counter()
        buckets[int(at / BUCKET_SECONDS)] += amount

    def error(self, counter: str, example: str) -> None:
        self.counters[counter] += 1
        self.error_examples.setdefault(counter, example[:300])

    def merge(self, other: WorkerResult) -> None:
        self.counters.update(other.counters)
        for kind, samples in other.samples.items():
            self.samples.setdefault(kind, Samples()).extend(samples)
        for kind, buckets in other.buckets.items():
            self.buckets.setdefault(kind, Counter()).update(buckets)
        for counter, example in other.error_examples.items():
            self.error_examples.setdefault(counter, example)
        self.generator_cpu_warning |= other.generator_cpu_warning

    def rate(self, kind: str, start: float, end: float) -> float:
        """Events of `kind` per second between start and end (whole buckets inside only)."""
        first, last = math.ceil(start / BUCKET_SECONDS), math.floor(end / BUCKET_SECONDS)
        if last <= first:
            return 0.0
        buckets = self.buckets.get(kind, Counter())
        total = sum(count for bucket, count in buckets.items() if first <= bucket < last)
        return total / ((last - first) * BUCKET_SECONDS)

    def save(self, path: Path) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(pickle.dumps(self))
        temporary.replace(path)  # the runner never reads half a file

    @classmethod
    def load_all(cls, directory: Path) -> tuple[WorkerResult, int]:
        """All processes' results merged, and how many files there were."""
        merged = cls()
        files = sorted(directory.glob("*.pickle"))
        for path in files:
            # Written by our own Locust processes into our private run directory.
            merged.merge(pickle.loads(path.read_bytes()))  # noqa: S301
        return merged, len(files)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def distribution(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p50": round(percentile(ordered, 0.50), 3),
        "p95": round(percentile(ordered, 0.95), 3),
        "p99": round(percentile(ordered, 0.99), 3),
        "max": round(ordered[-1], 3) if ordered else 0.0,
        "mean": round(sum(ordered) / len(ordered), 3) if ordered else 0.0,
    }
