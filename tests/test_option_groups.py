"""An option group's fields become the command's options where its parameter stands, and the
command receives them as one object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from chatkit.commands.option_groups import OptionGroup, with_option_groups


@dataclass(frozen=True, slots=True)
class Where(OptionGroup):
    url: Annotated[str | None, typer.Option("--url", envvar="TEST_GROUP_URL")] = None
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False


def _app() -> tuple[typer.Typer, list[tuple[str, int, Where]]]:
    seen: list[tuple[str, int, Where]] = []
    app = typer.Typer()

    @app.command()
    @with_option_groups
    def hello(name: str, count: Annotated[int, typer.Option()] = 1, *, where: Where) -> None:
        seen.append((name, count, where))

    @app.command()
    def other() -> None:  # a second command keeps `hello` a subcommand
        pass

    return app, seen


def test_the_command_gets_the_group_built_from_its_options() -> None:
    app, seen = _app()

    result = CliRunner().invoke(
        app, ["hello", "Bob", "-v", "--count", "2"], env={"TEST_GROUP_URL": "http://x"}
    )

    assert result.exit_code == 0, result.output
    assert seen == [("Bob", 2, Where(url="http://x", verbose=True))]


def test_help_lists_the_groups_options_after_the_commands_own() -> None:
    app, _ = _app()

    result = CliRunner().invoke(app, ["hello", "--help"], env={"COLUMNS": "100", "NO_COLOR": "1"})

    text = result.stdout
    assert result.exit_code == 0, result.output
    assert text.index("--count") < text.index("--url") < text.index("--verbose")


def test_a_command_without_a_group_is_refused() -> None:
    def plain(name: str) -> None:
        pass

    with pytest.raises(TypeError, match="takes no OptionGroup"):
        with_option_groups(plain)
