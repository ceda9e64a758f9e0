"""The TUI with the server away: a conversation opened offline fills in when the server
returns, reconnecting is quick, and the bar always says what is happening. Pilot against a
real server that stops and starts, SQLite only (see tests/test_tui.py for why)."""

from __future__ import annotations

import pytest

from chatkit.client import ConnectionState
from chatkit.config import Settings
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

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


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
