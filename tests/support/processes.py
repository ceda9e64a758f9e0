"""Real processes for multi-process tests: `chatkit serve` and a private redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from tests.support.commands import clean_environment

STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServeProcess:
    url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def start_serve(cwd: Path, env: dict[str, str], *args: str) -> ServeProcess:
    """Start `chatkit serve` and return once it prints the line saying it listens."""
    port = int(args[args.index("--port") + 1]) if "--port" in args else free_port()
    args = tuple(
        a for i, a in enumerate(args) if a != "--port" and (i == 0 or args[i - 1] != "--port")
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "chatkit", "serve", "--port", str(port), *args],
        cwd=cwd,
        env=clean_environment(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "serving on" in line:
            return ServeProcess(url=f"http://127.0.0.1:{port}", process=process, output=lines)
    process.kill()
    raise AssertionError("chatkit serve did not start:\n" + "".join(lines))


@contextlib.contextmanager
def serving(cwd: Path, env: dict[str, str], *args: str) -> Iterator[ServeProcess]:
    server = start_serve(cwd, env, *args)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=10)
        if server.process.stdout is not None:
            server.process.stdout.close()


class RedisServer:
    """A redis-server of the test's own, so that it can be stopped and started again."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed; these tests need Redis", pytrace=False)
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


async def eventually(check, timeout: float = 10.0, interval: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    """Wait until the async `check()` returns true (a condition, not a fixed delay)."""
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check.__name__}")
        await asyncio.sleep(interval)


async def get_status(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status


async def get_text(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return await response.text()
