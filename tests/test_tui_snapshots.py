"""Snapshots of the main screens at 80×24, with frozen data: the demo dataset seeded at a fixed
instant into a real server (in a thread: the snapshot plugin runs the app on its own loop), and
the app's clock and time zone frozen too. Update with `pytest --snapshot-update` after
checking the report; SQLite only, as for tests/test_tui.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
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
from chatkit.tui.local_state import Unsent, UnsentState
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


@sqlite_only
def test_composer_near_the_limit(snap_compare: SnapCompare, demo_server: RunningServer) -> None:
    async def type_long(pilot: Pilot[None]) -> None:
        await open_linus(pilot)
        await pilot.press(*"Bring the profiler output and the test")
        await pilot.pause()

    app = frozen_app(demo_server, max_length=40)
    assert snap_compare(app, terminal_size=(80, 24), run_before=type_long)


@sqlite_only
def test_search_in_the_history(snap_compare: SnapCompare, demo_server: RunningServer) -> None:
    async def search(pilot: Pilot[None]) -> None:
        await open_linus(pilot)
        await pilot.press("/", *"the")
        await pilot.pause()

    assert snap_compare(frozen_app(demo_server), terminal_size=(80, 24), run_before=search)


def _linus_and_maya(app: ChatApp) -> tuple[str, str]:
    by_name = {c.other(app.me).full_name: c.id for c in app.conversations.values()}
    return by_name["Linus Park"], by_name["Maya Chen"]


@sqlite_only
def test_unsent_and_drafts(snap_compare: SnapCompare, demo_server: RunningServer) -> None:
    """The list with a draft and a message not sent; then that conversation with a failed
    and a refused message."""

    async def with_unsent(pilot: Pilot[None]) -> None:
        await ready(pilot)
        app = pilot.app
        assert isinstance(app, ChatApp)
        linus, maya = _linus_and_maya(app)
        app.local.set_draft(maya, "Could we move Thursday to")
        app.local.add(linus, Unsent("c1", "Sent while offline", UnsentState.FAILED, "cannot reach"))
        app.local.add(
            linus,
            Unsent("c2", "x" * 60, UnsentState.REFUSED, "content is too long (HTTP 422)"),
        )
        app.refresh_views()
        await pilot.pause()

    async def then_open(pilot: Pilot[None]) -> None:
        await with_unsent(pilot)
        app = pilot.app
        assert isinstance(app, ChatApp)
        linus, _ = _linus_and_maya(app)
        # Read already: no "New messages" to start the view at, so it opens at the bottom.
        app.conversations[linus] = dataclasses.replace(app.conversations[linus], unread_count=0)
        await open_linus(pilot)

    assert snap_compare(frozen_app(demo_server), terminal_size=(80, 24), run_before=with_unsent)
    assert snap_compare(frozen_app(demo_server), terminal_size=(80, 24), run_before=then_open)
