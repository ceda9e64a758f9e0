"""Running the Node.js scripts in tests/node (the official socket.io-client) from a test."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent.parent / "node"


def node_ready() -> None:
    """Fail loudly, never skip, when Node.js or the official client is missing."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed; this test needs Node.js and npm", pytrace=False)
    if not (NODE_DIR / "node_modules" / "socket.io-client").is_dir():
        pytest.fail(
            "socket.io-client is not installed: run `npm ci` in tests/node (.ci/run does)",
            pytrace=False,
        )


async def run_script(script: str, timeout: float = 30, **environment: str) -> Any:
    """Run `script` to its end with `environment` added; the JSON object it printed."""
    node_ready()
    process = await asyncio.create_subprocess_exec(
        "node",
        script,
        cwd=NODE_DIR,
        env=dict(os.environ, **environment),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode == 0, (stdout.decode()[-3000:], stderr.decode()[-3000:])
    return json.loads(stdout)
