"""No surprises: reading commands never create or migrate a database, `chatkit token` never
invents a secret, and what does create one says so."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatkit.cli import app
from chatkit.server.data import migrate

runner = CliRunner()

READ_ONLY = [
    ["users", "list"],
    ["users", "list", "--json"],
    ["sessions", "list"],
    ["notify", "list"],
    ["notify", "list", "--json"],
    ["db", "current"],
]


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_reading_commands_in_an_empty_folder_create_nothing(
    args: list[str], tmp_path: Path
) -> None:
    result = runner.invoke(app, args)

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"error: no database at {Path('chatkit.db')}"
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", READ_ONLY[:5], ids=" ".join)
def test_reading_commands_never_migrate(args: list[str], tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "chatkit.db").close()  # a file, but no chatkit schema in it

    result = runner.invoke(app, args)

    assert result.exit_code == 1
    assert "no database at chatkit.db (no chatkit schema)" in result.stderr
    tables = sqlite3.connect(tmp_path / "chatkit.db").execute("select name from sqlite_master")
    assert tables.fetchall() == []


def test_reading_an_older_schema_asks_for_db_upgrade(tmp_path: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    with sqlite3.connect(tmp_path / "chatkit.db") as db:
        db.execute("update alembic_version set version_num = 'older'")

    result = runner.invoke(app, ["users", "list"])

    assert result.exit_code == 1
    assert "is at revision older" in result.stderr and migrate.head_revision() in result.stderr
    with sqlite3.connect(tmp_path / "chatkit.db") as db:
        assert db.execute("select version_num from alembic_version").fetchone() == ("older",)


def test_writing_commands_create_and_migrate(tmp_path: Path) -> None:
    result = runner.invoke(app, ["users", "add", "--name", "Ann", "--email", "ann@example.com"])

    assert result.exit_code == 0
    assert (tmp_path / "chatkit.db").is_file()
    assert runner.invoke(app, ["db", "current"]).stdout.startswith(
        f"current: {migrate.head_revision()}"
    )
    assert "Ann" in runner.invoke(app, ["users", "list"]).stdout


def test_token_without_a_secret_refuses_and_says_where_it_looked(tmp_path: Path) -> None:
    result = runner.invoke(app, ["token", "--user", str(uuid.uuid4())])

    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "no signing secret found" in message
    assert str(tmp_path / "chatkit.secret") in message
    assert "CHATKIT_JWT_SECRET" in message
    assert result.stdout == ""
    assert not (tmp_path / "chatkit.secret").exists()


def test_token_uses_a_secret_passed_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATKIT_JWT_SECRET", "a-secret-of-sufficient-length")

    result = runner.invoke(app, ["token", "--admin"])

    assert result.exit_code == 0 and result.stdout.count(".") == 2
    assert not (tmp_path / "chatkit.secret").exists()


def test_demo_generates_the_secret_and_says_where(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo"])

    assert result.exit_code == 0
    assert (tmp_path / "chatkit.secret").is_file()
    assert f"generated a new JWT signing secret in {tmp_path / 'chatkit.secret'}" in " ".join(
        result.stderr.split()
    )
    again = runner.invoke(app, ["demo"])
    assert "generated" not in again.stderr


def test_bad_input_to_a_writing_command_touches_no_database(tmp_path: Path) -> None:
    result = runner.invoke(app, ["users", "add", "--name", "X", "--email", "nope"])

    assert result.exit_code == 1 and "email" in result.stderr
    assert list(tmp_path.iterdir()) == []
