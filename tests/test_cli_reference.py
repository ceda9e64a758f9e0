"""docs/cli.md carries a reference generated from the commands' --help; it must match the
CLI as it is now (regenerate with `python docs/gen_cli_reference.py`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

GENERATOR = Path(__file__).parent.parent / "docs" / "gen_cli_reference.py"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_reference", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_cli_md_matches_the_help_of_every_command() -> None:
    generator = load_generator()
    current = generator.DOCUMENT.read_text()
    assert generator.render(current) == current, (
        "docs/cli.md is out of date with the CLI: run python docs/gen_cli_reference.py"
    )
    assert {"serve", "token", "config", "users add", "sessions list", "notify list"} <= set(
        generator.COMMANDS
    )
    for command in generator.COMMANDS:
        assert f"### chatkit {command}\n" in current
        assert f"Usage: chatkit {command} [OPTIONS]" in current


def test_the_check_notices_a_stale_reference() -> None:
    generator = load_generator()
    current = generator.DOCUMENT.read_text()
    stale = current.replace("Stop after printing this many events.", "Stop eventually.")
    assert stale != current and generator.render(stale) == current
