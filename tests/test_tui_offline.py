"""The TUI with the server away: a conversation opened offline fills in when the server
returns, reconnecting is quick, and the bar always says what is happening. Pilot against a
real server that stops and starts, SQLite only (see tests/test_tui.py for why)."""

from __future__ import annotations

import pytest
from textual.widgets._toast import Toast

from chatkit.client import Backoff, ConnectionState
from chatkit.config import Settings
from chatkit.tui.widgets.connection_bar import ConnectionBar
from chatkit.tui.widgets.message_item import MessageItem
from tests.support.api import Api
from tests.support.restartable import restartable_server
from tests.support.tui import (
    PATIENT,
    conversation_screen,
    log_items,
    make_room,
    open_conversation,
    tui,
    until,
)

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@sqlite_only
async def test_a_conversation_opened_offline_fills_in_on_reconnect(settings: Settings) -> None:
    async with restartable_server(settings) as server:
        assert server.running is not None
        async with Api(server.running) as api:
            room = await make_room(api)
            ids = [
                (await api.send(room.ada_token, room.ada_conversation, f"old {i}")).body["id"]
                for i in range(25)
            ]
            async with tui(server.url, room.mentee_token, backoff=PATIENT, page_size=10) as (
                app,
                pilot,
            ):
                await server.stop()
                await until(
                    pilot,
                    lambda: app.connection.state is not ConnectionState.CONNECTED,
                    "the drop is seen",
                )
                log = await open_conversation(app, pilot, room.ada_conversation, loads=False)
                screen = conversation_screen(app)
                await app.workers.wait_for_complete()
                empty = log_items(app)
                await server.start()
                await api.send(room.ada_token, room.ada_conversation, "new after the return")
                await pilot.press("ctrl+o")
                await until(pilot, screen.history_loaded.is_set, "the history fills in")
                await until(pilot, lambda: len(log_items(app)) >= 10, "the newest page shows")
                first_page = [i.text for i in log_items(app)]
                for _ in range(30):
                    if len(log_items(app)) == 26:
                        break
                    await pilot.press("pageup")
                    await pilot.pause(0.05)
                await until(pilot, lambda: len(log_items(app)) == 26, "PageUp loads the rest")
                everything = [i.message_id for i in log.query(MessageItem)]

    assert empty == []
    assert first_page[-1] == "new after the return"
    assert first_page[:-1] == [f"old {i}" for i in range(16, 25)]
    assert everything[:25] == ids


@sqlite_only
async def test_the_server_answering_again_reconnects_at_once_and_the_bar_says_so(
    settings: Settings,
) -> None:
    async with restartable_server(settings) as server:
        assert server.running is not None
        async with Api(server.running) as api:
            room = await make_room(api)
            # The backoff alone would wait a minute: only the probe can reconnect in time.
            async with tui(server.url, room.mentee_token, backoff=PATIENT) as (app, pilot):
                bar = app.screen.query_one(ConnectionBar)
                await server.stop()
                await until(
                    pilot, lambda: "retrying in" in str(bar.render()), "the bar shows the wait"
                )
                waiting = str(bar.render())
                await server.start()
                await until(
                    pilot, lambda: app.connection.live, "it reconnects without waiting a minute"
                )
                back = str(bar.render())

    assert waiting.startswith("◌ reconnecting: server unreachable; retrying in ")
    assert waiting.endswith("s · Ctrl+O now")  # the name makes room at 80 columns
    assert back == "● connected  ·  Mia Mentee"


@sqlite_only
async def test_toasts_never_cover_the_connection_bar(api: Api) -> None:
    room = await make_room(api)
    async with tui(api.server.url, room.mentee_token) as (app, pilot):
        for screen_opened in (False, True):
            if screen_opened:
                await open_conversation(app, pilot, room.ada_conversation)
            for n in range(3):
                app.notify(f"note {n}\nwith a second line", title="A toast", timeout=30)
            await until(pilot, lambda: len(app.screen.query(Toast)) >= 3, "the toasts show")
            await pilot.pause()
            bar = app.screen.query_one(ConnectionBar).region
            covered = [t.region for t in app.screen.query(Toast) if t.region.overlaps(bar)]
            assert covered == [], f"toasts over the bar ({bar}): {covered}"
            app.clear_notifications()


def test_backoff_is_capped_at_five_seconds() -> None:
    backoff = Backoff(jitter=0.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert Backoff().maximum == 5.0
