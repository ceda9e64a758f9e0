"""`chatkit tui` start-up: where it connects and as whom, and one-line errors before the
full-screen app starts. (The app itself is driven in tests/test_tui.py.)"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatkit import demo
from chatkit.cli import app
from chatkit.client import ApiClient, token_subject
from chatkit.commands.tui import _preflight, options_from_flags
from chatkit.config import Settings
from tests.support.server import RunningServer
from tests.support.threaded import threaded_server

runner = CliRunner()
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def live_server(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    # The command reads the same secret the server verifies with, as it would next to it.
    assert settings.jwt_secret is not None
    monkeypatch.setenv("CHATKIT_JWT_SECRET", settings.jwt_secret.get_secret_value())
    with threaded_server(settings) as server:
        yield server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_bad_theme_and_url_are_refused() -> None:
    theme = runner.invoke(app, ["tui", "--token", "t", "--theme", "purple"])
    url = runner.invoke(app, ["tui", "--token", "t", "--url", "ftp://example.com"])
    assert (theme.exit_code, url.exit_code) == (2, 2)
    assert "'purple' is not one of 'dark'" in theme.stderr
    assert "http://" in url.stderr


def test_an_unreachable_server_is_one_line() -> None:
    port = free_port()
    result = runner.invoke(app, ["tui", "--url", f"http://127.0.0.1:{port}", "--token", "t"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot reach http://127.0.0.1:{port}")
    assert "Traceback" not in result.stderr


@sqlite_only
def test_a_refused_token_is_one_line(live_server: RunningServer) -> None:
    result = runner.invoke(app, ["tui", "--url", live_server.url], env={"CHATKIT_TOKEN": "x.y.z"})
    assert result.exit_code == 1
    assert "the server refused the token" in result.stderr


@sqlite_only
def test_user_flag_mints_a_token_the_server_accepts(live_server: RunningServer) -> None:
    user = demo.USERS[0]
    options = options_from_flags(
        url=live_server.url, token=None, user=user.id, theme="dark", config=None
    )
    assert options.token is not None and callable(options.token)

    async def list_conversations() -> int:
        async with ApiClient(options.url, options.token) as client:  # type: ignore[arg-type]
            return len(await client.conversations())

    _seed_demo(live_server)
    assert asyncio.run(list_conversations()) == 2  # Ada's, with Linus and with Maya
    assert token_subject(options.token) == user.id
    _preflight(options.url, options.token)  # passes: no exit


@sqlite_only
def test_no_token_offers_the_demo_users(live_server: RunningServer) -> None:
    options = options_from_flags(url=None, token=None, user=None, theme="light", config=None)
    assert [c.name for c in options.choices] == [u.name for u in demo.USERS]
    assert [token_subject(c.token()) for c in options.choices] == [u.id for u in demo.USERS]
    assert options.token is None and options.url == "http://127.0.0.1:4000"
    _preflight(live_server.url, None)  # the health check passes without a token


def _seed_demo(server: RunningServer) -> None:
    from chatkit.server.data.database import Database
    from chatkit.server.data.store import Store

    async def seed() -> None:
        database = Database(server.settings.database_url)
        try:
            await demo.seed(Store(database))
        finally:
            await database.dispose()

    asyncio.run(seed())


def test_notify_choices_match_what_the_tui_knows(tmp_path: Path) -> None:
    from chatkit.commands.choices import Notify
    from chatkit.tui.terminal import NotifyStyle

    assert [n.value for n in Notify] == [s.value for s in NotifyStyle]
    refused = runner.invoke(app, ["tui", "--token", "t", "--notify", "loud"])
    assert refused.exit_code == 2
    options = options_from_flags(
        url="http://127.0.0.1:9",
        token="t",
        user=None,
        theme="dark",
        config=None,
        notify="osc777",
        data_dir=tmp_path,
    )
    assert (options.notify, options.data_dir) == ("osc777", tmp_path)
    default = options_from_flags(
        url="http://127.0.0.1:9", token="t", user=None, theme="dark", config=None
    )
    assert default.data_dir is not None and default.data_dir.name == "chatkit"
