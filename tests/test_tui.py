"""The TUI driven by Textual's Pilot against a real chatkit server on a free port.

These run on SQLite only: the TUI sees nothing but the public REST and Socket.IO API, whose
behaviour on both backends is what the server tests check; running the TUI on PostgreSQL too
would repeat those checks and double the time, and add nothing.
"""

from __future__ import annotations

import pytest

from chatkit.client import ConnectionState
from chatkit.config import Settings
from chatkit.tui.local_state import Unsent, UnsentState
from chatkit.tui.screens.conversation import ConversationScreen
from chatkit.tui.screens.conversations import ConversationsScreen
from chatkit.tui.widgets.composer import Composer
from chatkit.tui.widgets.connection_bar import ConnectionBar
from chatkit.tui.widgets.message_item import Delivery, MessageItem
from chatkit.tui.widgets.typing_indicator import TypingIndicator
from tests.support.api import Api
from tests.support.restartable import restartable_server
from tests.support.sockets import connected
from tests.support.tui import (
    PATIENT,
    list_lines,
    log_items,
    make_room,
    open_conversation,
    tui,
    until,
)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_list_shows_unread_badges_and_reorders_live(api: Api) -> None:
    room = await make_room(api)
    for text in ("hi from Ada", "are you there?"):
        await api.send(room.ada_token, room.ada_conversation, text)
    await api.send(room.bob_token, room.bob_conversation, "hello from Bob")

    async with tui(api.server.url, room.mentee_token) as (app, pilot):
        assert isinstance(app.screen, ConversationsScreen)
        first = list_lines(app)
        await api.send(room.ada_token, room.ada_conversation, "ping")
        await until(pilot, lambda: "Ada Mentor" in list_lines(app)[0], "Ada moves to the top")
        second = list_lines(app)

    assert first[0].startswith("○ Bob Mentor (mentor)   1 new ")
    assert "hello from Bob" in first[0] and "· completed" in first[0]
    assert first[1].startswith("○ Ada Mentor (mentor)   2 new ") and "are you there?" in first[1]
    assert second[0].startswith("○ Ada Mentor (mentor)   3 new ") and second[0].endswith("ping")


async def test_opening_marks_read_and_tells_the_other_side(api: Api) -> None:
    room = await make_room(api)
    for text in ("one", "two"):
        await api.send(room.ada_token, room.ada_conversation, text)

    async with (
        connected(api.server.url, room.ada_token) as ada,
        tui(api.server.url, room.mentee_token) as (app, pilot),
    ):
        log = await open_conversation(app, pilot, room.ada_conversation)
        receipt = await ada.next("messages_read")
        texts = [item.text for item in log.query(MessageItem)]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConversationsScreen), "back to list")
        lines = list_lines(app)

    assert texts == ["one", "two"]
    assert receipt == {
        "conversationId": room.ada_conversation,
        "readBy": room.mentee_id,
        "count": 2,
    }
    ada_line = next(line for line in lines if "Ada Mentor" in line.split(" | ")[0])
    assert "new" not in ada_line.split(" | ")[0]
    stored = await api.get(f"/api/conversations/{room.ada_conversation}", token=room.mentee_token)
    assert stored.body["unreadCount"] == 0


async def test_sending_shows_pending_then_sent_and_reaches_the_other_client(api: Api) -> None:
    room = await make_room(api)
    async with (
        connected(api.server.url, room.ada_token) as ada,
        tui(api.server.url, room.mentee_token) as (app, pilot),
    ):
        await open_conversation(app, pilot, room.ada_conversation)
        screen = app.screen
        assert isinstance(screen, ConversationScreen)
        composer = screen.query_one(Composer)
        composer.insert("first line")
        await pilot.press("ctrl+j")
        composer.insert("second line")
        # Holding the screen's send lock keeps the request from starting: the pending state is
        # observed for certain, not by luck of timing.
        assert app.outbox is not None
        async with app.outbox.lock(room.ada_conversation):
            await pilot.press("enter")
            await until(pilot, lambda: log_items(app), "the message shows")
            (item,) = log_items(app)
            pending = (item.delivery, item.message_id, composer.text)
        await until(pilot, lambda: item.delivery is Delivery.SENT, "it is sent")
        pushed = await ada.next("new_message")
        await ada.call("mark_read", {"conversationId": room.ada_conversation})
        await until(pilot, lambda: item.delivery is Delivery.READ, "it shows as read")
        count = len(log_items(app))

    assert pending == (Delivery.PENDING, None, "")
    assert pushed["message"]["content"] == "first line\nsecond line"
    assert pushed["message"]["senderId"] == room.mentee_id
    assert pushed["message"]["clientMessageId"] == item.client_message_id
    assert item.message_id == pushed["message"]["id"]
    assert count == 1  # the pushed copy of our own message did not double it


async def test_a_message_from_the_other_client_appears_live(api: Api) -> None:
    room = await make_room(api)
    async with tui(api.server.url, room.mentee_token) as (app, pilot):
        await open_conversation(app, pilot, room.ada_conversation)
        sent = await api.send(
            room.ada_token,
            room.ada_conversation,
            "see attached",
            attachments=[
                {
                    "filename": "plan.pdf",
                    "mimeType": "application/pdf",
                    "url": "https://example.com/plan.pdf",
                    "size": 2048,
                }
            ],
        )
        await until(pilot, lambda: log_items(app), "the message appears")
        (item,) = log_items(app)
        rendered = item.render_text().plain
        unread = app.conversations[room.ada_conversation].unread_count

    assert item.message_id == sent.body["id"]
    assert rendered.startswith("Ada Mentor · ")
    assert "see attached" in rendered
    assert "plan.pdf (application/pdf, 2.0 KB) https://example.com/plan.pdf" in rendered
    assert unread == 0  # open conversation: read as it arrives


async def test_typing_shows_and_clears_and_own_typing_is_throttled(api: Api) -> None:
    room = await make_room(api)
    async with (
        connected(api.server.url, room.ada_token) as ada,
        tui(api.server.url, room.mentee_token, typing_timeout=0.3) as (app, pilot),
    ):
        await open_conversation(app, pilot, room.ada_conversation)
        indicator = app.screen.query_one(TypingIndicator)
        typing = {"conversationId": room.ada_conversation, "isTyping": True}

        await ada.call("typing", typing)
        await until(pilot, lambda: indicator.who == "Ada Mentor", "typing shows")
        shown = indicator.display
        await until(pilot, lambda: indicator.who is None, "typing clears after the timeout")

        await ada.call("typing", typing)
        await until(pilot, lambda: indicator.who == "Ada Mentor", "typing shows again")
        await api.send(room.ada_token, room.ada_conversation, "done typing")
        await until(pilot, lambda: indicator.who is None, "a message clears it")

        await pilot.press("h", "e", "l", "l", "o")
        first = await ada.next("user_typing")
        await ada.barrier()
        await app.workers.wait_for_complete()
        extra = ada.pending("user_typing")

    assert shown
    assert first == {
        "conversationId": room.ada_conversation,
        "userId": room.mentee_id,
        "isTyping": True,
    }
    assert extra == []  # five keystrokes, one event


async def test_scrolling_up_loads_older_pages_without_jumping(api: Api) -> None:
    room = await make_room(api)
    ids = [
        (await api.send(room.ada_token, room.ada_conversation, f"message {i}")).body["id"]
        for i in range(25)
    ]
    async with tui(api.server.url, room.mentee_token, page_size=10) as (app, pilot):
        log = await open_conversation(app, pilot, room.ada_conversation)
        first_page = [item.message_id for item in log.query(MessageItem)]
        at_bottom = log.scroll_y == log.max_scroll_y
        anchor_item = log.query(MessageItem).first()

        log.scroll_home(animate=False, immediate=True)
        await until(pilot, lambda: len(log_items(app)) == 20, "the second page loads")
        # The place is restored after the next refresh; under load that can take a moment.
        await until(pilot, lambda: log.scroll_y > 0, "the view moves back to its place")
        await pilot.pause()
        kept_in_view = anchor_item.region.overlaps(log.region)

        for _ in range(30):  # PageUp from the composer, as a reader would
            if len(log_items(app)) == 25:
                break
            await pilot.press("pageup")
        await until(pilot, lambda: len(log_items(app)) == 25, "the last page loads")
        await until(pilot, lambda: log.query(".history-edge"), "the beginning shows")
        everything = [item.message_id for item in log.query(MessageItem)]

    assert first_page == ids[-10:] and at_bottom
    assert kept_in_view
    assert everything == ids


async def test_server_restart_shows_reconnecting_then_catches_up(settings: Settings) -> None:
    async with restartable_server(settings) as server:
        assert server.running is not None
        async with Api(server.running) as api:
            room = await make_room(api)
            await api.send(room.ada_token, room.ada_conversation, "before the restart")
            async with tui(server.url, room.mentee_token, backoff=PATIENT) as (app, pilot):
                log = await open_conversation(app, pilot, room.ada_conversation)
                bar = app.screen.query_one(ConnectionBar)

                await server.stop()
                await until(
                    pilot,
                    lambda: app.connection.state is ConnectionState.RECONNECTING,
                    "it shows reconnecting",
                )
                shown = str(bar.render())
                await server.start()
                missed = [
                    (await api.send(room.ada_token, room.ada_conversation, f"missed {i}")).body
                    for i in range(3)
                ]
                await pilot.press("ctrl+o")  # reconnect now rather than after the backoff
                await until(pilot, lambda: len(log_items(app)) == 4, "it catches up")
                await until(
                    pilot, lambda: app.connection.state is ConnectionState.CONNECTED, "connected"
                )
                live = await api.send(room.ada_token, room.ada_conversation, "live again")
                await until(pilot, lambda: len(log_items(app)) == 5, "live again")
                texts = [item.text for item in log.query(MessageItem)]
                ids = [item.message_id for item in log.query(MessageItem)]

    assert "reconnecting" in shown
    assert texts == ["before the restart", "missed 0", "missed 1", "missed 2", "live again"]
    assert ids[1:4] == [m["id"] for m in missed] and ids[4] == live.body["id"]
    assert "reconnecting" not in str(bar.render())


async def test_a_failed_send_retries_with_the_same_client_message_id(settings: Settings) -> None:
    async with restartable_server(settings) as server:
        assert server.running is not None
        async with Api(server.running) as api:
            room = await make_room(api)
            async with tui(server.url, room.mentee_token, backoff=PATIENT) as (app, pilot):
                await open_conversation(app, pilot, room.ada_conversation)
                composer = app.screen.query_one(Composer)
                await server.stop()
                composer.insert("are you there?")
                await pilot.press("enter")
                await until(pilot, lambda: log_items(app), "the message shows")
                (item,) = log_items(app)
                await until(pilot, lambda: item.delivery is Delivery.FAILED, "it fails")
                await server.start()
                await api.send(room.ada_token, room.ada_conversation, "meanwhile")
                await pilot.press("ctrl+o")
                await until(pilot, lambda: len(log_items(app)) == 2, "the catch-up shows")
                await pilot.press("ctrl+r")
                await until(pilot, lambda: item.delivery is Delivery.SENT, "the retry succeeds")
                await pilot.pause()
                shown = [i.text for i in log_items(app)]
                # A second try of the same message (as after a lost answer) stores nothing new.
                assert item.client_message_id is not None
                again = Unsent(item.client_message_id, "are you there?", UnsentState.FAILED)
                app.local.add(room.ada_conversation, again)
                await pilot.press("ctrl+r")
                await until(
                    pilot, lambda: not app.local.unsent(room.ada_conversation), "retried again"
                )
                await app.workers.wait_for_complete()
                after_second_try = [i.text for i in log_items(app)]
            history = await api.get(
                f"/api/conversations/{room.ada_conversation}/messages", token=room.ada_token
            )

    stored = history.body["messages"]
    assert [(m["content"], m["clientMessageId"]) for m in stored] == [
        ("meanwhile", None),
        ("are you there?", item.client_message_id),
    ]
    assert shown == ["meanwhile", "are you there?"]  # moved below what was stored before it
    assert after_second_try == shown
