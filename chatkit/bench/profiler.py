"""`--py-spy FILE`: a py-spy profile of the server during the timed phase, to see where the
time goes. py-spy samples the server from outside (`--nonblocking`: it never pauses it), so
the measured numbers stay what they would be without it."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

from chatkit.bench.target import BenchError

SAMPLES_PER_SECOND = 200
FINISH_TIMEOUT = 60.0


def find_py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.is_file() else shutil.which("py-spy")
    if found is None:
        raise BenchError("--py-spy needs py-spy: pip install py-spy")
    return found


def output_format(path: Path) -> str:
    """speedscope for .json, collapsed stacks for .txt, else a flame graph (SVG)."""
    return {".json": "speedscope", ".txt": "raw"}.get(path.suffix, "flamegraph")


class ServerProfile:
    def __init__(self, output: Path, pid: int, seconds: float) -> None:
        self._command = [
            find_py_spy(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, math.ceil(seconds))),
            "--rate",
            str(SAMPLES_PER_SECOND),
            "--nonblocking",
            "--subprocesses",
            "--format",
            output_format(output),
            "--output",
            str(output.resolve()),
        ]
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self._process is None:
            self._process = subprocess.Popen(
                self._command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )

    def finish(self) -> None:
        """Wait for py-spy to write its file; raises BenchError if it could not profile."""
        if self._process is None:
            return
        try:
            _, errors = self._process.communicate(timeout=FINISH_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            raise BenchError("py-spy did not finish") from None
        if self._process.returncode != 0:
            reason = errors.decode(errors="replace").strip().splitlines()
            raise BenchError(f"py-spy failed: {reason[-1] if reason else 'no output'}")
