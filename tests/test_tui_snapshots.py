"""Snapshots of the main screens at 80×24, with frozen data: the demo dataset seeded at a fixed
instant into a real server (in a thread: the snapshot plugin runs the app on its own loop), and
the app's clock and time zone frozen too. Update with `pytest --snapshot-update` after
checking the report; SQLite only, as for tests/test_tui.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.pilot import Pilot

from chatkit import demo
from chatkit.config import Settings
from chatkit.server.data.database import Database
from chatkit.server.data.store import Store
from chatkit.tui import ChatApp, TuiOptions, UserChoice, make_app
from chatkit.tui.screens.conversation import ConversationScreen
from tests.support.server import RunningServer
from tests.support.threaded import threaded_server

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

FROZEN = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)
ADA, LINUS = demo.USERS[0], demo.USERS[3]
SnapCompare = Callable[..., bool]


@pytest.fixture
def demo_server(settings: Settings) -> Iterator[RunningServer]:
    async def seed() -> None:
        database = Database(settings.database_url)
        try:
            await demo.seed(Store(database), now=FROZEN)
        finally:
            await database.dispose()

    asyncio.run(seed())
    with threaded_server(settings) as server:
        yield server


def frozen_app(server: RunningServer, **options: Any) -> ChatApp:
    return make_app(
        TuiOptions(
            url=server.url,
            token=server.token(ADA.id),
            now=lambda: FROZEN,
            tz=UTC,
            **options,
        )
    )


async def until(pilot: Pilot[None], condition: Callable[[], object]) -> None:
    deadline = time.monotonic() + 5.0
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.02)


async def ready(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, ChatApp)
    await until(pilot, lambda: app.loaded and app.realtime is not None and app.realtime.connected)


async def open_linus(pilot: Pilot[None]) -> None:
    await ready(pilot)
    await pilot.press("down", "enter")
    screen = pilot.app.screen
    assert isinstance(screen, ConversationScreen)
    await until(pilot, screen.history_loaded.is_set)
    await pilot.pause()


@sqlite_only
def test_conversation_list(snap_compare: SnapCompare, demo_server: RunningServer) -> None:
    assert snap_compare(frozen_app(demo_server), terminal_size=(80, 24), run_before=ready)


@sqlite_only
def test_conversation_view(snap_compare: SnapCompare, demo_server: RunningServer) -> None:
    assert snap_compare(frozen_app(demo_server), terminal_size=(80, 24), run_before=open_linus)


@sqlite_only
def test_conversation_view_light(snap_compare: SnapCompare, demo_server: RunningServer) -> None:
    app = frozen_app(demo_server, theme="light")
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_linus)


@sqlite_only
def test_help(snap_compare: SnapCompare, demo_server: RunningServer) -> None:
    async def show_help(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(frozen_app(demo_server), terminal_size=(80, 24), run_before=show_help)


def test_pick_user(snap_compare: SnapCompare) -> None:
    choices = [UserChoice(u.name, u.role, u.id, lambda: "unused") for u in demo.USERS]
    app = make_app(TuiOptions(url="http://127.0.0.1:9", choices=choices))
    assert snap_compare(app, terminal_size=(80, 24))
