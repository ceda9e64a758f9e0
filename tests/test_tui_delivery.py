"""What happens to what you write: read marks that agree live and after reopening, failed and
refused messages that stay until sent or discarded. Pilot against a real server, SQLite only
(see tests/test_tui.py for why)."""

from __future__ import annotations

import pytest

from chatkit.config import Settings
from chatkit.tui.local_state import Unsent, UnsentState
from chatkit.tui.widgets.composer import Composer
from chatkit.tui.widgets.message_item import Delivery
from tests.support.api import Api
from tests.support.restartable import restartable_server
from tests.support.tui import (
    PATIENT,
    back_to_list,
    conversation_screen,
    list_lines,
    log_items,
    make_room,
    open_conversation,
    tui,
    until,
)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_a_reply_marks_your_message_read_at_once_as_after_reopening(api: Api) -> None:
    room = await make_room(api)
    async with tui(api.server.url, room.mentee_token) as (app, pilot):
        await open_conversation(app, pilot, room.ada_conversation)
        app.screen.query_one(Composer).insert("did you read the plan?")
        await pilot.press("enter")
        await until(pilot, lambda: log_items(app), "the message shows")
        (mine,) = log_items(app)
        await until(pilot, lambda: mine.delivery is Delivery.SENT, "it is sent")
        await api.send(room.ada_token, room.ada_conversation, "yes, looks good")
        await until(pilot, lambda: len(log_items(app)) == 2, "the reply shows")
        await until(pilot, lambda: mine.delivery is Delivery.READ, "the reply marks it read")
        live = [(i.text, i.delivery) for i in log_items(app)]

        await back_to_list(app, pilot)
        await open_conversation(app, pilot, room.ada_conversation)
        reopened = [(i.text, i.delivery) for i in log_items(app)]

    assert live == [("did you read the plan?", Delivery.READ), ("yes, looks good", Delivery.SENT)]
    assert reopened == live


async def test_a_failed_message_stays_after_leaving_and_reopening(settings: Settings) -> None:
    async with restartable_server(settings) as server:
        assert server.running is not None
        async with Api(server.running) as api:
            room = await make_room(api)
            await api.send(room.ada_token, room.ada_conversation, "before")
            async with tui(server.url, room.mentee_token, backoff=PATIENT) as (app, pilot):
                await open_conversation(app, pilot, room.ada_conversation)
                await server.stop()
                app.screen.query_one(Composer).insert("sent while down")
                await pilot.press("enter")
                await until(
                    pilot,
                    lambda: [i.delivery for i in log_items(app)][-1:] == [Delivery.FAILED],
                    "it fails",
                )
                await server.start()
                await back_to_list(app, pilot)
                in_the_list = next(
                    line for line in list_lines(app) if "Ada" in line.split(" | ")[0]
                )
                await open_conversation(app, pilot, room.ada_conversation)
                reopened = [(i.text, i.delivery) for i in log_items(app)]
                await pilot.press("ctrl+r")
                await until(
                    pilot,
                    lambda: [i.delivery for i in log_items(app)][-1:] == [Delivery.SENT],
                    "the retry is sent",
                )
            stored = await api.get(
                f"/api/conversations/{room.ada_conversation}/messages", token=room.ada_token
            )

    assert "Ada Mentor (mentor)  ✗ 1 not sent |" in in_the_list
    assert reopened == [("before", Delivery.SENT), ("sent while down", Delivery.FAILED)]
    assert [m["content"] for m in stored.body["messages"]] == ["before", "sent while down"]


async def test_a_refused_message_stays_and_ctrl_r_gives_its_text_back_to_edit(api: Api) -> None:
    room = await make_room(api)
    too_long = "x" * 5000
    # A client allowed longer text than the server: the server's 422 is what stops it.
    async with tui(api.server.url, room.mentee_token, max_length=10_000) as (app, pilot):
        await open_conversation(app, pilot, room.ada_conversation)
        app.screen.query_one(Composer).insert(too_long)
        await pilot.press("enter")
        await until(pilot, lambda: log_items(app), "the message shows")
        await until(
            pilot, lambda: log_items(app)[0].delivery is Delivery.REFUSED, "the server refuses"
        )
        await back_to_list(app, pilot)
        await open_conversation(app, pilot, room.ada_conversation)
        reopened = [(len(i.text), i.delivery) for i in log_items(app)]
        composer = app.screen.query_one(Composer)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: not log_items(app), "the refused message leaves the log")
        back_in_composer = composer.text
        await pilot.pause()
        stored = await api.get(
            f"/api/conversations/{room.ada_conversation}/messages", token=room.ada_token
        )
        screen = conversation_screen(app)
        left = screen.conversation_id in app.local.conversations_with_unsent()

    assert reopened == [(5000, Delivery.REFUSED)]
    assert back_in_composer == too_long
    assert stored.body["messages"] == []  # never retried
    assert not left


async def test_a_failed_message_the_server_stored_after_all_shows_once(api: Api) -> None:
    room = await make_room(api)
    # The answer was lost: the TUI kept it as failed, but the server has it.
    stored = await api.send(
        room.mentee_token, room.ada_conversation, "did it arrive?", clientMessageId="lost-1"
    )
    async with tui(api.server.url, room.mentee_token) as (app, pilot):
        app.local.add(room.ada_conversation, Unsent("lost-1", "did it arrive?", UnsentState.FAILED))
        await open_conversation(app, pilot, room.ada_conversation)
        shown = [(i.message_id, i.delivery) for i in log_items(app)]
        left = app.local.unsent(room.ada_conversation)

    assert shown == [(stored.body["id"], Delivery.SENT)]
    assert left == []  # nothing for Ctrl+R to send again
