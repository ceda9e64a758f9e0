"""Settings: defaults < chatkit.toml < CHATKIT_* environment < flags; one-line errors."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from chatkit.config import ConfigError, Settings, load_settings, signing_secret


def test_defaults_need_no_setup() -> None:
    settings = load_settings()

    assert (settings.host, settings.port) == ("127.0.0.1", 4000)
    assert settings.database_url == "sqlite+aiosqlite:///./chatkit.db"
    assert settings.notify_delay == 120
    assert settings.redis_url == ""


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "chatkit.toml").write_text(
        '[server]\nport = 5000\nhost = "0.0.0.0"\n'
        '[database]\nurl = "sqlite+aiosqlite:///from-file.db"\n'
        "[notify]\ndelay = 30\n"
    )
    assert load_settings().port == 5000, "./chatkit.toml is read when present"

    monkeypatch.setenv("CHATKIT_PORT", "6000")
    monkeypatch.setenv("CHATKIT_NOTIFY_DELAY", "5")
    settings = load_settings(port=7000)

    assert settings.port == 7000, "flags beat the environment"
    assert settings.notify_delay == 5, "the environment beats the file"
    assert settings.host == "0.0.0.0", "the file beats the defaults"
    assert settings.database_url == "sqlite+aiosqlite:///from-file.db"


def test_explicit_config_file_and_missing_one(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('redis_url = "redis://127.0.0.1:6379/0"\n')

    assert load_settings(path).redis_url == "redis://127.0.0.1:6379/0"
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("CHATKIT_PORT", "eighty", "invalid setting CHATKIT_PORT"),
        ("CHATKIT_PORT", "70000", "invalid setting CHATKIT_PORT"),
        ("CHATKIT_DATABASE_URL", "mysql://x", "invalid setting CHATKIT_DATABASE_URL"),
        ("CHATKIT_REDIS_URL", "http://x", "invalid setting CHATKIT_REDIS_URL"),
        ("CHATKIT_SMTP_URL", "mail.example.com", "invalid setting CHATKIT_SMTP_URL"),
        ("CHATKIT_NOTIFY_DELAY", "-1", "invalid setting CHATKIT_NOTIFY_DELAY"),
        ("CHATKIT_JWT_ALGORITHM", "none", "invalid setting CHATKIT_JWT_ALGORITHM"),
    ],
)
def test_wrong_values_name_the_setting_in_one_line(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(env, value)

    with pytest.raises(ConfigError) as caught:
        load_settings()

    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_file_errors_name_the_key(tmp_path: Path) -> None:
    (tmp_path / "chatkit.toml").write_text("[server]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"unknown setting '\[server\] prot'"):
        load_settings()
    (tmp_path / "chatkit.toml").write_text('[server]\nport = "x"\n')
    with pytest.raises(ConfigError, match="'port' in chatkit.toml"):
        load_settings()
    (tmp_path / "chatkit.toml").write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_flags_are_named_as_flags() -> None:
    with pytest.raises(ConfigError, match="invalid setting --port"):
        load_settings(port=-1)


def test_asymmetric_algorithms_need_a_public_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATKIT_JWT_ALGORITHM", "RS256")
    with pytest.raises(ConfigError, match="jwt_public_key or jwt_jwks_url"):
        load_settings()


def test_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(secret_file=tmp_path / "keys" / "chatkit.secret")

    first = signing_secret(settings)
    second = signing_secret(settings)

    assert first == second and len(first) >= 32
    assert (tmp_path / "keys" / "chatkit.secret").stat().st_mode & 0o777 == 0o600


def test_configured_secret_wins_and_must_not_be_trivial() -> None:
    assert signing_secret(Settings(jwt_secret="a-long-enough-secret")) == "a-long-enough-secret"
    with pytest.raises(ConfigError, match="at least 16"):
        signing_secret(Settings(jwt_secret="short"))


def test_sample_config_file_is_valid_and_documents_every_setting() -> None:
    sample = Path(__file__).resolve().parents[1] / "chatkit.toml"
    text = sample.read_text()

    load_settings(sample)  # everything in it parses (commented out or not)
    from chatkit.config import FILE_KEYS

    for (section, key), name in FILE_KEYS.items():
        assert f"[{section}]" in text, section
        assert f"{key} =" in text, f"{name} is not documented in chatkit.toml"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:p@db:5432/chat", "postgresql+asyncpg://u:p@db:5432/chat"),
        ("postgres://u@db/chat?sslmode=require", "postgresql+asyncpg://u@db/chat?sslmode=require"),
        ("sqlite:///data/chat.db", "sqlite+aiosqlite:///data/chat.db"),
        ("sqlite:////var/lib/chat.db", "sqlite+aiosqlite:////var/lib/chat.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql+asyncpg://u@db/chat", "postgresql+asyncpg://u@db/chat"),
        ("sqlite+aiosqlite:///./chatkit.db", "sqlite+aiosqlite:///./chatkit.db"),
    ],
)
def test_database_urls_in_their_12_factor_forms(
    given: str, used: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings(database_url=given).database_url == used
    monkeypatch.setenv("CHATKIT_DATABASE_URL", given)
    assert load_settings().database_url == used


@pytest.mark.parametrize("given", ["mysql://u@db/chat", "postgresql+psycopg2://u@db/x", "chat.db"])
def test_other_database_urls_are_refused_in_one_line(
    given: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATKIT_DATABASE_URL", given)

    with pytest.raises(ConfigError, match="CHATKIT_DATABASE_URL: must start with postgresql://"):
        load_settings()


@pytest.mark.postgres
def test_a_plain_postgres_url_reaches_the_database(
    monkeypatch: pytest.MonkeyPatch, postgres_template: str
) -> None:
    from typer.testing import CliRunner

    from chatkit.cli import app
    from tests.support import backends

    name = f"ck_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(backends.create_postgres_database(name, template=postgres_template))
    try:
        plain = backends.postgres_url(name).replace("postgresql+asyncpg://", "postgres://")
        monkeypatch.setenv("CHATKIT_DATABASE_URL", plain)
        runner = CliRunner()
        added = runner.invoke(app, ["users", "add", "--name", "Pat", "--email", "pat@example.com"])
        listed = runner.invoke(app, ["users", "list", "--json"])
    finally:
        asyncio.run(backends.drop_postgres_database(name))

    assert added.exit_code == 0, added.stderr
    assert [user["fullName"] for user in json.loads(listed.stdout)] == ["Pat"]


def test_an_in_memory_sqlite_url_works_for_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from chatkit.cli import app

    monkeypatch.setenv("CHATKIT_DATABASE_URL", "sqlite://")

    result = CliRunner().invoke(app, ["users", "add", "--name", "Mo", "--email", "mo@example.com"])

    assert result.exit_code == 0, result.stderr
    assert list(Path.cwd().iterdir()) == [], "nothing written to disk"
