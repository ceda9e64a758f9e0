"""What `pip install chatkit` brings: the wheel's core requirements carry no load-testing or
test stack, the bench is an extra that says how to get it, and the version has one source."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import chatkit

ROOT = Path(__file__).parent.parent
BENCH_ONLY = {"locust", "gevent", "greenlet", "pyzmq", "flask", "werkzeug", "psutil"}
TEST_ONLY = {"pytest", "pluggy", "iniconfig", "hypothesis", "schemathesis", "mypy", "ruff"}


@pytest.fixture(scope="module")
def wheel_metadata(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = folder.glob("chatkit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(archive.read(name).decode())
    return {key: message.get_all(key) or [] for key in ("Version", "Requires-Dist")}


def _name(requirement: str) -> str:
    head = requirement.split(";")[0]
    for stop in "<>=![ ":
        head = head.split(stop)[0]
    return head.strip().lower()


@pytest.mark.slow
def test_the_core_install_carries_no_load_test_or_test_stack(
    wheel_metadata: dict[str, list[str]],
) -> None:
    core = {_name(r) for r in wheel_metadata["Requires-Dist"] if "extra ==" not in r}
    bench = {_name(r) for r in wheel_metadata["Requires-Dist"] if "extra == 'bench'" in r}

    assert "aiohttp" in core and "python-socketio" in core and "textual" in core
    assert not core & (BENCH_ONLY | TEST_ONLY)
    assert {"locust", "psutil"} <= bench


@pytest.mark.slow
def test_the_version_has_one_source(wheel_metadata: dict[str, list[str]]) -> None:
    assert wheel_metadata["Version"] == [chatkit.__version__]
    assert importlib.metadata.version("chatkit") == chatkit.__version__
    assert not re.search(r"^version\s*=", (ROOT / "pyproject.toml").read_text(), re.MULTILINE)


def test_the_dev_extra_includes_the_bench_extra() -> None:
    requires = importlib.metadata.requires("chatkit") or []

    dev = {_name(r) for r in requires if re.search(r"extra\s*==\s*['\"]dev['\"]", r)}
    assert {"locust", "psutil", "pytest"} <= dev, requires


def test_bench_without_the_extra_says_how_to_install_it(tmp_path: Path) -> None:
    # A process where Locust is not importable, as after a plain `pip install chatkit`.
    script = (
        "import sys; sys.modules['locust'] = None; sys.argv = ['chatkit', 'bench', 'chat']; "
        "from chatkit.cli import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: chatkit bench needs the bench extra: pip install 'chatkit[bench]'"
    ]
    assert result.stdout == ""
