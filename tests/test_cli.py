"""The command line: admin commands with CliRunner, and `chatkit serve` as a real process."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import jwt
import pytest
from typer.testing import CliRunner

from chatkit import demo
from chatkit.cli import app
from chatkit.config import Settings, signing_secret
from chatkit.server.data import migrate
from tests.support.commands import clean_environment, run_to_end

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def server_secret(tmp_path: Path) -> str:
    """The secret `chatkit serve` generates in its folder (the test's working directory)."""
    return signing_secret(Settings(secret_file=tmp_path / "chatkit.secret"))


def test_token_is_signed_with_the_kept_secret(server_secret: str) -> None:
    user = str(uuid.uuid4())

    code, out, _ = invoke("token", "--user", user, "--ttl", "15m")

    assert code == 0
    secret = server_secret
    claims = jwt.decode(out.strip(), secret, algorithms=["HS256"])
    assert claims["sub"] == user
    assert claims["exp"] - claims["iat"] == 900
    assert "role" not in claims


@pytest.mark.usefixtures("server_secret")
def test_token_admin_and_debug() -> None:
    code, out, err = invoke("token", "--admin", "--debug")

    assert code == 0
    assert '"role": "admin"' in err
    assert out.strip().count(".") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("token",), "give --user ID"),
        (("token", "--user", "bob"), "must be a UUID"),
        (("token", "--user", str(uuid.uuid4()), "--ttl", "forever"), "invalid TTL"),
    ],
)
def test_token_errors_are_one_clear_line(args: tuple[str, ...], message: str) -> None:
    code, out, err = invoke(*args)

    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def test_users_and_sessions_round_trip() -> None:
    code, mentor, _ = invoke("users", "add", "--name", "Ada", "--email", "ada@example.com")
    assert code == 0
    code, mentee, _ = invoke("users", "add", "--name", "Linus", "--email", "linus@example.com")
    assert code == 0
    mentor, mentee = mentor.strip(), mentee.strip()

    code, session, _ = invoke(
        "sessions",
        "add",
        "--mentor",
        mentor,
        "--mentee",
        mentee,
        "--start-at",
        "2025-03-01T09:00:00Z",
    )
    assert code == 0
    code, users_table, _ = invoke("users", "list")
    assert code == 0 and "Ada" in users_table and "Linus" in users_table
    code, sessions_table, _ = invoke("sessions", "list", "--user", mentee)
    assert code == 0 and session.strip() in sessions_table and "scheduled" in sessions_table
    assert "Ada" in sessions_table and "Linus" in sessions_table
    code, listed, _ = invoke("sessions", "list", "--json")
    assert json.loads(listed) == [
        {
            "id": session.strip(),
            "mentorId": mentor,
            "menteeId": mentee,
            "startAt": "2025-03-01T09:00:00.000Z",
            "status": "scheduled",
            "createdAt": json.loads(listed)[0]["createdAt"],
            "updatedAt": json.loads(listed)[0]["updatedAt"],
        }
    ]


def test_session_with_unknown_users_is_refused_in_one_line() -> None:
    code, out, err = invoke(
        "sessions", "add", "--mentor", str(uuid.uuid4()), "--mentee", str(uuid.uuid4())
    )

    assert code == 1
    assert "names no user" in err
    assert "Traceback" not in err + out


def test_bad_email_is_refused() -> None:
    code, _, err = invoke("users", "add", "--name", "X", "--email", "nope")

    assert code == 1
    assert "email" in err


def test_demo_is_repeatable_and_prints_a_token_per_user(tmp_path: Path) -> None:
    first = invoke("demo")
    second = invoke("demo")

    assert first[0] == second[0] == 0
    for user in demo.USERS:
        assert user.id in first[1]
    code, sessions_table, _ = invoke("sessions", "list")
    assert sessions_table.count("scheduled") == 2, "the second run added nothing"
    secret = signing_secret(Settings(secret_file=tmp_path / "chatkit.secret"))
    tokens = [line.strip() for line in first[1].splitlines() if line.strip().startswith("eyJ")]
    assert len(tokens) == len(demo.USERS)
    subjects = {jwt.decode(t, secret, algorithms=["HS256"])["sub"] for t in tokens}
    assert subjects == {user.id for user in demo.USERS}


def test_db_upgrade_and_current() -> None:
    code, out, _ = invoke("db", "upgrade")
    assert code == 0 and "upgraded from empty" in out
    code, out, _ = invoke("db", "upgrade")
    assert code == 0 and "up to date" in out
    code, out, _ = invoke("db", "current")
    assert code == 0 and f"current: {migrate.head_revision()}" in out


def test_wrong_setting_stops_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATKIT_DATABASE_URL", "oracle://nope")

    code, out, err = invoke("users", "list")

    assert code == 2
    assert err.strip().splitlines()[0].startswith("error: invalid setting CHATKIT_DATABASE_URL")
    assert "Traceback" not in err + out


def test_unreachable_database_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATKIT_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/x")

    code, out, err = invoke("users", "list")

    assert code == 1
    assert "cannot reach the database" in err
    assert "Traceback" not in err + out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_serve_starts_on_a_fresh_folder_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    env = clean_environment()
    process = subprocess.Popen(
        [sys.executable, "-m", "chatkit", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the server says it is listening
        assert f"http://127.0.0.1:{port}" in line, line + (
            process.stderr.read() if process.poll() else ""
        )
        assert (tmp_path / "chatkit.db").is_file()
        assert (tmp_path / "chatkit.secret").is_file()
        added = run_to_end(
            "users", "add", "--name", "Ann", "--email", "a@x.io", cwd=tmp_path, env=env
        )
        assert added.returncode == 0, added.stderr
        user = added.stdout.strip()
        minted = run_to_end("token", "--user", user, cwd=tmp_path, env=env)
        assert minted.returncode == 0, minted.stderr
        token = minted.stdout.strip()
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            async with http.get("/healthz") as health:
                assert health.status == 200
                assert await health.json() == {"status": "ok"}
            async with http.get("/readyz") as ready:
                assert ready.status == 200
            headers = {"Authorization": f"Bearer {token}"}
            async with http.get("/api/conversations", headers=headers) as listed:
                assert listed.status == 200
                assert await listed.json() == []
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        assert process.wait(timeout=15) == 0
        assert time.monotonic() - started < 15
        errors = process.stderr.read()  # type: ignore[union-attr]
        assert "Traceback" not in errors
        assert f"generated a new JWT signing secret in {tmp_path / 'chatkit.secret'}" in errors
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_refuses_a_port_in_use_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_to_end("serve", "--port", str(port), cwd=tmp_path, timeout=30)

    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_hints_keep_ids_whole_on_a_narrow_terminal(tmp_path: Path) -> None:
    env = clean_environment(COLUMNS="50", TTY_COMPATIBLE="1", NO_COLOR="1")
    result = run_to_end("demo", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stdout).splitlines()
    assert f"  chatkit tui --user {demo.USERS[0].id}" in lines
    for user in demo.USERS:
        assert any(line.endswith(f"  {user.id}") for line in lines), user.name
