"""/metrics carries the process's own figures (CPU, memory, file descriptors) beside chatkit's;
with --workers each worker's (tests/test_scale_out.py::test_workers_share_one_port)."""

from __future__ import annotations

import re

import aiohttp

from tests.support.server import RunningServer


async def test_metrics_include_cpu_memory_and_fds(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/metrics") as reply:
        assert reply.status == 200
        text = await reply.text()

    values = {
        name: float(match.group(1))
        for name in (
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_cpu_seconds_total",
        )
        if (match := re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE))
    }
    assert set(values) == {
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_cpu_seconds_total",
    }, text[:500]
    assert values["process_resident_memory_bytes"] > 1_000_000
    assert values["process_open_fds"] >= 3
