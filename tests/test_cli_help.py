"""--help tells the defaults and the choices; shell completion works; the choices are the
sets the code itself uses."""

from __future__ import annotations

import os
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from chatkit.bench.options import PROFILES
from chatkit.cli import app
from chatkit.commands import choices
from chatkit.config import Settings
from chatkit.server.data.store.records import NOTIFICATION_STATUSES, SESSION_STATUSES
from tests.support.commands import run_to_end

HELP_ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}


def _commands() -> Iterator[tuple[str, Any]]:
    """Every command (leaf) of the CLI as (its path, its click command)."""

    def walk(prefix: str, command: Any) -> Iterator[tuple[str, Any]]:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in sorted(subcommands.items()):
                yield from walk(f"{prefix} {name}".strip(), sub)
        else:
            yield prefix, command

    yield from walk("", typer.main.get_command(app))


COMMANDS = [path for path, _ in _commands()]


def test_every_option_with_a_default_shows_it() -> None:
    hidden = []
    for path, command in _commands():
        for param in command.params:
            if param.param_type_name != "option" or param.is_flag or param.name == "help":
                continue
            shown = param.show_default
            mentioned = "default" in (param.help or "").lower()
            if param.default is not None and shown is False and not mentioned:
                hidden.append(f"chatkit {path} {param.opts[0]}")
    assert hidden == []


@pytest.mark.parametrize("path", COMMANDS)
def test_help_renders_and_no_markup_is_eaten(path: str) -> None:
    result = CliRunner().invoke(app, [*path.split(), "--help"], env=HELP_ENV)

    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    # "Address to listen on ." is what is left when rich markup eats "[default: …]".
    assert not re.search(r"\w \.( |$)", text), "a [bracket] was read as markup"
    assert f"Usage: chatkit {path}" in text


def test_serve_help_shows_its_defaults() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env=HELP_ENV)
    text = " ".join(result.stdout.split())

    assert "Address to listen on. [default: 127.0.0.1]" in text
    assert "Port to listen on. [default: 4000]" in text
    assert "<debug|info|warning|error>" in text and "[default: info]" in text


def test_bench_help_keeps_sentences_whole() -> None:
    result = CliRunner().invoke(app, ["bench", "--help"], env=HELP_ENV)
    lines = [line.strip() for line in result.stdout.splitlines()]

    # The docstring's second paragraph wraps at the terminal's width, not at the source's.
    exits = next(line for line in lines if line.startswith("Exits 0 when the run passed"))
    assert len(exits) > 90, exits


def _literal(name: str) -> set[str]:
    return set(typing.get_args(Settings.model_fields[name].annotation))


@pytest.mark.parametrize(
    ("choice", "values"),
    [
        (choices.LogLevel, _literal("log_level")),
        (choices.LogFormat, _literal("log_format")),
        (choices.SessionStatus, set(SESSION_STATUSES)),
        (choices.NotificationStatus, set(NOTIFICATION_STATUSES)),
        (choices.BenchProfile, set(PROFILES)),
        (choices.Transport, {"websocket", "polling"}),
        (choices.Theme, {"dark", "light"}),
    ],
)
def test_choices_are_the_sets_the_code_uses(
    choice: type[choices.StrEnum], values: set[str]
) -> None:
    assert {member.value for member in choice} == values


def _complete(words: str, tmp_path: Path) -> list[str]:
    env = {**os.environ, "_CHATKIT_COMPLETE": "complete_bash", "COMP_WORDS": words}
    env["COMP_CWORD"] = str(len(words.split()) - (0 if words.endswith(" ") else 1))
    result = run_to_end(cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_completion_lists_commands_and_choices(tmp_path: Path) -> None:
    assert _complete("chatkit se", tmp_path) == ["serve", "send", "sessions"]
    assert _complete("chatkit serve --log-level ", tmp_path) == [
        "debug",
        "info",
        "warning",
        "error",
    ]
    assert "connect-storm" in _complete("chatkit bench ", tmp_path)
    assert _complete("chatkit sessions add --status c", tmp_path) == ["completed", "cancelled"]


def test_install_completion_writes_the_script(tmp_path: Path) -> None:
    # typer detects the shell from the parent processes (shellingham) unless told not to;
    # with detection off, --install-completion takes the shell's name, whoever runs the suite.
    env = {**os.environ, "HOME": str(tmp_path), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    result = run_to_end("--install-completion", "bash", env=env)

    assert result.returncode == 0, result.stderr
    script = tmp_path / ".bash_completions" / "chatkit.sh"
    assert "_CHATKIT_COMPLETE" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()
