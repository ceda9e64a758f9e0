"""`chatkit config`: the effective settings, where each came from, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatkit.cli import app
from tests.support.commands import clean_environment, run_to_end


def _settings(*args: str) -> dict[str, dict[str, object]]:
    result = CliRunner().invoke(app, ["config", "--json", *args])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    settings: dict[str, dict[str, object]] = document["settings"]
    return settings


def test_each_setting_says_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "chatkit.toml").write_text(
        '[server]\nport = 5000\nhost = "0.0.0.0"\n[notify]\nsmtp_url = "smtp://mail:pw@mx:25"\n'
    )
    monkeypatch.setenv("CHATKIT_PORT", "6000")
    monkeypatch.setenv("CHATKIT_DATABASE_URL", "postgres://app:hunter2@db:5432/chat")
    monkeypatch.setenv("CHATKIT_JWT_SECRET", "a-very-secret-value-of-length")

    settings = _settings("--workers", "3")

    assert settings["workers"] == {"value": 3, "source": "flag", "origin": "--workers"}
    assert settings["port"] == {"value": 6000, "source": "environment", "origin": "CHATKIT_PORT"}
    assert settings["host"] == {"value": "0.0.0.0", "source": "file", "origin": "chatkit.toml"}
    assert settings["log_level"] == {"value": "info", "source": "default", "origin": None}
    # Secrets are masked, URL passwords too; what the driver adds shows.
    assert settings["jwt_secret"]["value"] == "********"
    assert settings["database_url"]["value"] == "postgresql+asyncpg://app:********@db:5432/chat"
    assert settings["smtp_url"]["value"] == "smtp://mail:********@mx:25"


def test_the_table_masks_secrets_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATKIT_JWT_SECRET", "a-very-secret-value-of-length")
    monkeypatch.setenv("CHATKIT_REDIS_URL", "redis://:sesame@cache:6379/0")

    result = CliRunner().invoke(app, ["config"])

    assert result.exit_code == 0
    assert "a-very-secret" not in result.stdout and "sesame" not in result.stdout
    assert "environment CHATKIT_JWT_SECRET" in " ".join(result.stdout.split())
    assert "file: none" in result.stdout


def test_a_bad_setting_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATKIT_PORT", "seventy")

    result = CliRunner().invoke(app, ["config", "--json"])

    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid setting CHATKIT_PORT")
    assert result.stdout == ""


def test_config_as_a_process_reads_nothing_it_should_not_create(tmp_path: Path) -> None:
    result = run_to_end("config", "--json", cwd=tmp_path, env=clean_environment())

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["file"] is None
    assert list(tmp_path.iterdir()) == [], "no database, no secret"
