"""`chatkit users …` / `chatkit sessions …` with --url and an admin token go through a running
server's admin API, and print and exit exactly as they do on the local database."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from typer.testing import CliRunner, Result

from chatkit.cli import app
from tests.support.api import Api
from tests.support.server import RunningServer


async def _cli(*args: str, env: dict[str, str] | None = None) -> Result:
    # In a thread: the command runs its own event loop while the server answers on this one.
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


class Both:
    """Runs one command locally (on the server's database) and remotely, side by side."""

    def __init__(self, server: RunningServer) -> None:
        self.remote = ["--url", server.url, "--token", server.admin_token]
        self.local_env = {"CHATKIT_DATABASE_URL": server.settings.database_url}

    async def local(self, *args: str) -> Result:
        return await _cli(*args, env=self.local_env)

    async def over_http(self, *args: str) -> Result:
        # CHATKIT_DATABASE_URL points nowhere: the remote mode must not touch a database.
        return await _cli(*args, *self.remote, env={"CHATKIT_DATABASE_URL": "sqlite:///no.db"})

    async def same(self, *args: str) -> Result:
        local, remote = await self.local(*args), await self.over_http(*args)
        assert (remote.exit_code, remote.stdout, remote.stderr) == (
            local.exit_code,
            local.stdout,
            local.stderr,
        ), args
        return remote


@pytest.fixture
def both(server: RunningServer) -> Both:
    return Both(server)


async def test_users_and_sessions_through_the_admin_api(both: Both, api: Api) -> None:
    added = await both.over_http("users", "add", "--name", "Remote Ann", "--email", "ann@r.io")
    assert added.exit_code == 0, added.output
    ann = added.stdout.strip()
    bob = str(uuid.uuid4())
    assert (await both.over_http("users", "add", "--id", bob, "-n", "Bob", "-e", "b@r.io")).stdout
    session = await both.over_http(
        "sessions", "add", "--mentor", ann, "--mentee", bob, "--start-at", "2025-05-01T10:00:00Z"
    )
    assert session.exit_code == 0, session.output

    listed = await both.same("users", "list", "--json")
    assert {u["fullName"] for u in json.loads(listed.stdout)} >= {"Remote Ann", "Bob"}
    assert "Remote Ann" in (await both.same("users", "list")).stdout
    table = await both.same("sessions", "list", "--user", bob)
    assert session.stdout.strip() in table.stdout and "scheduled" in table.stdout
    sessions = json.loads((await both.same("sessions", "list", "--json")).stdout)
    assert sessions[0]["id"] == session.stdout.strip()
    assert sessions[0]["startAt"] == "2025-05-01T10:00:00.000Z"

    off = await both.over_http("users", "notify-off", bob)
    assert off.stdout.strip() == f"notification emails for {bob} are off"
    users = json.loads((await both.local("users", "list", "--json")).stdout)
    assert next(u for u in users if u["id"] == bob)["notifyEmail"] is False

    old = api.server.token(bob)
    revoked = await both.over_http("users", "revoke-tokens", bob)
    assert revoked.stdout.startswith(f"tokens of {bob} issued before 20")
    assert revoked.stdout.strip().endswith("are refused")

    # The same refusals, word for word, and the same exit statuses.
    in_session = await both.same("users", "remove", bob)
    assert in_session.exit_code == 1 and "session" in in_session.stderr
    unknown = await both.same("users", "remove", str(uuid.uuid4()))
    assert unknown.exit_code == 1 and unknown.stderr.startswith("error: ")
    bad_email = await both.same("users", "add", "--name", "X", "--email", "nope")
    assert bad_email.exit_code == 1
    bad_id = await both.same("users", "remove", "not-a-uuid")
    assert bad_id.exit_code == 2
    del old


async def test_remove_goes_through_the_api(both: Both, api: Api) -> None:
    user = await api.user("Leaving")

    removed = await both.over_http("users", "remove", user)

    assert removed.exit_code == 0 and removed.stdout.strip() == f"removed user {user}"
    assert (await api.get(f"/api/admin/users/{user}", token=api.server.admin_token)).status == 404


async def test_the_environment_names_the_server_and_the_token(server: RunningServer) -> None:
    env = {"CHATKIT_URL": server.url, "CHATKIT_TOKEN": server.admin_token}
    env["CHATKIT_DATABASE_URL"] = "sqlite:///nowhere.db"

    result = await _cli("users", "list", "--json", env=env)

    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.stdout), list)


async def test_a_user_token_is_refused_in_one_line(server: RunningServer, api: Api) -> None:
    user = await api.user("Not An Admin")

    result = await _cli("users", "list", "--url", server.url, "--token", server.token(user))

    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


async def test_url_without_a_token_and_an_unreachable_server(server: RunningServer) -> None:
    no_token = await _cli("sessions", "list", "--url", server.url, env={"CHATKIT_TOKEN": ""})
    assert no_token.exit_code == 2 and "--url needs an admin token" in no_token.stderr

    down = await _cli("users", "list", "--url", "http://127.0.0.1:9", "--token", "x")
    assert down.exit_code == 1 and "cannot reach http://127.0.0.1:9" in down.stderr


@pytest.mark.parametrize(
    "args",
    [["users", "list", "--token", "x"], ["conversations", "--token", "x"]],
    ids=["admin", "client"],
)
async def test_an_unresolvable_host_says_dns(args: list[str]) -> None:
    # .invalid never resolves (RFC 6761), with or without a network.
    result = await _cli(*args, "--url", "http://chat.nonexistent.invalid:4000")

    assert result.exit_code == 1
    assert "DNS lookup failed for chat.nonexistent.invalid" in result.stderr
    assert "unknown error" not in result.stderr.lower()
