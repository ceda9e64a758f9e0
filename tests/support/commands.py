"""`chatkit` commands run as their own processes, read line by line with timeouts."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

TIMEOUT = 20.0


def clean_environment(**extra: str) -> dict[str, str]:
    """The test's environment without CHATKIT_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATKIT_")}
    return {**env, **extra}


def run_to_end(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m chatkit *args` run to its end from a synchronous test, text captured."""
    return subprocess.run(
        [sys.executable, "-m", "chatkit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Command:
    """A running `python -m chatkit …`."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stderr_lines: list[str] = []

    async def stderr_until(self, text: str, timeout: float = TIMEOUT) -> str:
        """Read stderr until a line containing `text` (the lines so far stay in
        `stderr_lines`)."""
        assert self.process.stderr is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.process.stderr.readline()
                if not raw:
                    raise AssertionError(f"stderr ended without {text!r}: {self.stderr_lines}")
                line = raw.decode().rstrip("\n")
                self.stderr_lines.append(line)
                if text in line:
                    return line

    async def json_line(self, timeout: float = TIMEOUT) -> Any:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        assert raw, f"stdout ended; stderr: {await self.rest_of_stderr()}"
        return json.loads(raw)

    async def rest_of_stderr(self) -> list[str]:
        assert self.process.stderr is not None
        rest = await asyncio.wait_for(self.process.stderr.read(), TIMEOUT)
        self.stderr_lines.extend(rest.decode().splitlines())
        return self.stderr_lines

    async def finish(self, timeout: float = TIMEOUT) -> tuple[int, str, list[str]]:
        """Wait for the exit: (status, the rest of stdout, every stderr line)."""
        assert self.process.stdout is not None
        out = await asyncio.wait_for(self.process.stdout.read(), timeout)
        errors = await self.rest_of_stderr()
        return await asyncio.wait_for(self.process.wait(), timeout), out.decode(), errors


@asynccontextmanager
async def running(cwd: Path, env: dict[str, str], *args: str) -> AsyncIterator[Command]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatkit",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield Command(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def run(
    cwd: Path, env: dict[str, str], *args: str, stdin: bytes | None = None
) -> tuple[int, str, str]:
    """Run a command to its end: (status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatkit",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), TIMEOUT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
