"""The report of one run: what was measured, whether it passed, as JSON and as a table."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from chatkit.bench import results as r
from chatkit.bench.options import BenchOptions
from chatkit.bench.results import WorkerResult, distribution
from chatkit.bench.sampler import ProcessSampler

MB = 1024 * 1024
# What the server's CPU time is divided by, per profile.
OPERATIONS: dict[str, str | None] = {"history": "read", "connect-storm": "connect", "idle": None}


@dataclass
class RunFacts:
    """What the runner knows besides the Locust processes' results."""

    url: str
    embedded: bool
    configuration: str | None  # the embedded server's ("defaults", or what differs)
    database: str | None
    server_pid: int | None
    setup_seconds: float
    times: dict[str, float]  # phase -> time.monotonic() it began
    end: float  # when Locust exited
    result_files: int
    expected_files: int
    locust_exit_code: int
    locust_started: float = 0.0
    server_rss_before: int | None = None  # RSS before the first Locust user started
    load_before: list[float] | None = None  # the machine's 1/5/15-minute load averages


def build(
    options: BenchOptions,
    facts: RunFacts,
    result: WorkerResult,
    server: ProcessSampler | None,
    generator: ProcessSampler | None,
) -> dict[str, Any]:
    counters = result.counters
    start, end = facts.times.get("steady"), facts.times.get("drain")
    window = (end - start) if start is not None and end is not None else 0.0
    rates = {
        name: round(result.rate(name, start, end), 1) if start and end else 0.0
        for name in (r.SENT, r.MESSAGES_DELIVERED, r.DELIVERIES, r.CONNECTS, r.READS)
    }
    report: dict[str, Any] = {
        "profile": options.profile.name,
        "target": {
            "url": facts.url,
            "embedded": facts.embedded,
            "configuration": facts.configuration,
            "database": facts.database,
            "server_sampled": server is not None,
        },
        "options": options.load_shape(),
        "machine": _machine(facts, server, generator),
        "setup_seconds": round(facts.setup_seconds, 1),
        "steady_seconds": round(window, 2),
        # seconds from Locust's start to each phase, and to its exit
        "phases": {
            phase: round(at - facts.locust_started, 2)
            for phase, at in sorted({**facts.times, "exit": facts.end}.items(), key=lambda i: i[1])
        },
        "messages": {
            "sent": counters[r.SENT],
            "delivered": counters[r.MESSAGES_DELIVERED],
            "deliveries": counters[r.DELIVERIES],
            "lost": counters[r.LOST],
            "lost_messages": counters[r.LOST_MESSAGES],
            "duplicated": counters[r.DUPLICATED],
            "out_of_order": counters[r.OUT_OF_ORDER],
            "sent_per_second": rates[r.SENT],
            "delivered_per_second": rates[r.MESSAGES_DELIVERED],
            "deliveries_per_second": rates[r.DELIVERIES],
        },
        "latency_ms": {
            kind: distribution(list(result.samples[kind].ms))
            for kind in ("delivery", "post", "connect", "ack", "list", "page", "lag")
            if kind in result.samples
        },
        "connections": {
            "opened": counters[r.CONNECTS],
            "failed": counters[r.CONNECT_FAILED],
            "dropped": counters[r.DROPS],
            "per_second": rates[r.CONNECTS],
            # when the first drops happened, in seconds from the start of the steady phase
            "dropped_at": _offsets(result, "drop", start),
        },
        "reads": {"ok": counters[r.READS], "per_second": rates[r.READS]},
        "errors": _errors(result),
        "server": _server(options, facts, result, server),
        "generator": _generator(options, facts, result, generator),
    }
    report["failures"] = _failures(options, facts, report)
    report["passed"] = not report["failures"]
    return report


def add_soak(report: dict[str, Any], trends: dict[str, Any]) -> None:
    """The soak's resource trends, and a failure for each that kept growing."""
    from chatkit.bench.soak import failures

    report["soak"] = trends
    report["failures"] += failures(trends)
    report["passed"] = not report["failures"]


def _machine(
    facts: RunFacts, server: ProcessSampler | None, generator: ProcessSampler | None
) -> dict[str, Any]:
    """The machine, and how busy it was: on a shared machine, other processes' CPU time is
    the first thing to look at when numbers disappoint."""
    cpus = os.cpu_count() or 1
    machine: dict[str, Any] = {
        "cpus": cpus,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_before": facts.load_before,
        "busy_percent": None,
        "others_cpu_percent": None,
    }
    start, end = facts.times.get("steady"), facts.times.get("drain")
    if generator is None or start is None or end is None or end <= start:
        return machine
    busy = generator.machine_between(start, end)
    if busy is None:
        return machine
    # Samples are a quarter-second apart, so a saturated machine can read a hair over 100%.
    machine["busy_percent"] = min(100.0, round(100 * busy / (end - start) / cpus, 1))
    machine["others_cpu_percent"] = _others(server, generator, start, end)
    # The ramp too: sockets that fail to connect fail there.
    ramp = facts.times.get("ramp")
    if ramp is not None and start - ramp >= 1.0:
        machine["ramp_others_cpu_percent"] = _others(server, generator, ramp, start)
    return machine


def _others(
    server: ProcessSampler | None, generator: ProcessSampler, start: float, end: float
) -> float | None:
    """CPU time neither the server nor the load generator used, in % of one core."""
    busy = generator.machine_between(start, end)
    if server is None or busy is None or end <= start:
        return None
    ours = (generator.cpu_between(start, end) or 0.0) + (server.cpu_between(start, end) or 0.0)
    return round(100 * max(0.0, busy - ours) / (end - start), 1)


def _offsets(result: WorkerResult, kind: str, start: float | None, most: int = 10) -> list[float]:
    if kind not in result.samples or start is None:
        return []
    return [round(at - start, 1) for at in sorted(result.samples[kind].at)[:most]]


def _errors(result: WorkerResult) -> dict[str, Any]:
    counters = result.counters
    count = sum(counters[name] for name in r.ERROR_COUNTERS)
    operations = sum(counters[name] for name in r.OPERATION_COUNTERS)
    operations += counters[r.READS] + counters[r.READ_FAILED] + counters[r.ACK_FAILED]
    return {
        "count": count,
        "operations": operations,
        "rate": round(count / operations, 5) if operations else 0.0,
        "by_kind": {name: counters[name] for name in r.ERROR_COUNTERS if counters[name]},
        "examples": dict(result.error_examples),
    }


def _server(
    options: BenchOptions, facts: RunFacts, result: WorkerResult, sampler: ProcessSampler | None
) -> dict[str, Any] | None:
    start, end = facts.times.get("steady"), facts.times.get("drain")
    if sampler is None or start is None or end is None:
        return None
    cpu = sampler.cpu_between(start, end)
    window = end - start
    done = {
        "history": result.rate(r.READS, start, end),
        "connect-storm": result.rate(r.CONNECTS, start, end),
    }.get(options.profile.name, result.rate(r.MESSAGES_DELIVERED, start, end)) * window
    rss_held = sampler.rss_before(end)
    held = result.counters[r.CONNECTS] - result.counters[r.DROPS]
    per_connection = None
    # Only idle holds enough sockets, and nothing else, for the difference to mean something.
    if options.profile.name == "idle" and held > 0:
        if rss_held is not None and facts.server_rss_before is not None:
            per_connection = round((rss_held - facts.server_rss_before) / held / 1024, 1)
    return {
        "cpu_seconds": round(cpu, 2) if cpu is not None else None,
        "cpu_percent": round(100 * cpu / window, 1) if cpu is not None and window else None,
        "cpu_ms_per_operation": round(1000 * cpu / done, 3) if cpu is not None and done else None,
        "operation": OPERATIONS.get(options.profile.name, "delivered message"),  # None: idle
        "rss_mb_before": _mb(facts.server_rss_before),
        "rss_mb_steady": _mb(rss_held),
        "rss_mb_peak": _mb(sampler.rss_peak(facts.times.get("ramp", start), facts.end)),
        "rss_kb_per_connection": per_connection,
        "connections_held": held,
    }


def _generator(
    options: BenchOptions, facts: RunFacts, result: WorkerResult, sampler: ProcessSampler | None
) -> dict[str, Any]:
    start, end = facts.times.get("steady"), facts.times.get("drain")
    cpu = sampler.cpu_between(start, end) if sampler and start and end else None
    return {
        "processes": options.processes,
        "cpu_percent": round(100 * cpu / (end - start), 1)
        if cpu is not None and start and end
        else None,
        "cpu_warning": result.generator_cpu_warning,
    }


def _failures(options: BenchOptions, facts: RunFacts, report: dict[str, Any]) -> list[str]:
    found = []
    messages, errors = report["messages"], report["errors"]
    for name in ("lost", "duplicated", "out_of_order"):
        if messages[name]:
            found.append(f"{messages[name]} {name.replace('_', ' ')}")
    if errors["rate"] > options.max_error_rate:
        limit = options.max_error_rate
        found.append(f"error rate {errors['rate']:.2%} is above --max-error-rate {limit:.2%}")
    if "steady" not in facts.times or "drain" not in facts.times:
        found.append("the run never completed its timed phase")
    if facts.result_files < facts.expected_files:
        found.append(
            f"only {facts.result_files} of {facts.expected_files} Locust processes reported"
        )
    measured = {
        "history": report["reads"]["ok"],
        "connect-storm": report["connections"]["opened"],
        "idle": report["connections"]["opened"],
    }.get(options.profile.name, messages["sent"])
    if not measured:
        found.append("nothing was measured")
    return found


def _mb(value: int | None) -> float | None:
    return round(value / MB, 1) if value is not None else None


def table(report: dict[str, Any]) -> Table:
    """The summary a person reads at the end of the run."""
    title = f"chatkit bench {report['profile']} — {'PASS' if report['passed'] else 'FAIL'}"
    grid = Table(title=title, show_header=False, title_justify="left")
    grid.add_column(style="bold")
    grid.add_column()
    messages, latency = report["messages"], report["latency_ms"]
    target = report["target"]
    grid.add_row("target", f"{target['url']} ({target['database'] or '?'})")
    grid.add_row(
        "configuration", target["configuration"] or "not known (a server given with --url)"
    )
    grid.add_row(
        "steady phase", f"{report['steady_seconds']} s (setup {report['setup_seconds']} s)"
    )
    if messages["sent"]:
        grid.add_row(
            "messages",
            f"{messages['sent']} sent, {messages['delivered']} delivered to every socket "
            f"({messages['delivered_per_second']}/s), {messages['deliveries']} socket deliveries "
            f"({messages['deliveries_per_second']}/s)",
        )
    grid.add_row(
        "correctness",
        f"lost {messages['lost']} · duplicated {messages['duplicated']} · "
        f"out of order {messages['out_of_order']}",
    )
    labels = {
        "delivery": "delivery (POST → new_message)",
        "post": "POST latency",
        "connect": "connect latency",
        "ack": "socket ack round trip",
        "list": "GET /api/conversations",
        "page": "GET history page",
        "lag": "generator lag (open loop)",
    }
    for kind, label in labels.items():
        if kind in latency and latency[kind]["count"]:
            d = latency[kind]
            grid.add_row(
                label,
                f"p50 {d['p50']:.1f} · p95 {d['p95']:.1f} · p99 {d['p99']:.1f} · "
                f"max {d['max']:.1f} ms (n={d['count']})",
            )
    connections = report["connections"]
    if connections["opened"] or connections["failed"]:
        grid.add_row(
            "connections",
            f"{connections['opened']} opened ({connections['per_second']}/s in the steady "
            f"phase), {connections['failed']} failed, {connections['dropped']} dropped",
        )
    if report["reads"]["ok"]:
        grid.add_row("reads", f"{report['reads']['ok']} ({report['reads']['per_second']}/s)")
    errors = report["errors"]
    grid.add_row("errors", f"{errors['count']} of {errors['operations']} ({errors['rate']:.2%})")
    for kind, example in errors["examples"].items():
        grid.add_row(f"  {kind}", example, style="dim")
    server = report["server"]
    if server:
        parts = [f"CPU {server['cpu_seconds']} s ({server['cpu_percent']}% of a core)"]
        if server["cpu_ms_per_operation"] is not None:
            parts.append(f"{server['cpu_ms_per_operation']} CPU-ms per {server['operation']}")
        parts.append(f"RSS {server['rss_mb_before']} → {server['rss_mb_steady']} MB")
        if server["rss_kb_per_connection"] is not None:
            parts.append(
                f"{server['rss_kb_per_connection']} KB per connection "
                f"({server['connections_held']} held)"
            )
        grid.add_row("server", ", ".join(parts))
    machine = report["machine"]
    if machine["busy_percent"] is not None:
        line = f"{machine['cpus']} CPUs {machine['busy_percent']}% busy"
        if machine["others_cpu_percent"] is not None:
            line += f", other processes used {machine['others_cpu_percent']}% of a core"
        grid.add_row("machine", line)
    generator = report["generator"]
    grid.add_row(
        "load generator",
        f"{generator['processes']} process(es), CPU {generator['cpu_percent']}% of a core"
        + (" — saturated, numbers are limited by it" if generator["cpu_warning"] else ""),
    )
    for name, trend in report.get("soak", {}).get("resources", {}).items():
        if trend["measured"]:
            medians = " → ".join(str(value) for value in trend["window_medians"])
            state = "[red]keeps growing[/]" if trend["growing"] else "steady"
            grid.add_row(f"soak: {name}", f"{medians} (peak {trend['peak']}), {state}")
    for failure in report["failures"]:
        grid.add_row("[red]failed[/]", failure)
    return grid
