"""The composer keeps what you write: a draft per conversation across Esc, switching and
restarts of the TUI, unsent messages across restarts, and a length counter that stops text
the server would refuse. Pilot against a real server, SQLite only (see tests/test_tui.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatkit.config import Settings
from chatkit.tui.local_state import LocalState, Unsent, UnsentState, state_file
from chatkit.tui.widgets.composer import Composer
from chatkit.tui.widgets.message_item import Delivery
from tests.support.api import Api
from tests.support.restartable import restartable_server
from tests.support.sockets import connected
from tests.support.tui import (
    PATIENT,
    back_to_list,
    list_lines,
    log_items,
    make_room,
    open_conversation,
    tui,
    until,
)

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def composer_text(app: object) -> str:
    return app.screen.query_one(Composer).text  # type: ignore[attr-defined, no-any-return]


@sqlite_only
async def test_drafts_are_kept_per_conversation_across_esc_and_switching(
    api: Api, tmp_path: Path
) -> None:
    room = await make_room(api)
    async with tui(api.server.url, room.mentee_token, data_dir=tmp_path) as (app, pilot):
        await open_conversation(app, pilot, room.ada_conversation)
        await pilot.press(*"half a thought")
        await back_to_list(app, pilot)
        in_the_list = next(line for line in list_lines(app) if "Ada" in line.split(" | ")[0])
        await open_conversation(app, pilot, room.bob_conversation)
        bob_before = composer_text(app)
        await pilot.press(*"for Bob")
        await back_to_list(app, pilot)
        await open_conversation(app, pilot, room.ada_conversation)
        ada_after = composer_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: log_items(app), "the draft is sent")
        await back_to_list(app, pilot)
        await open_conversation(app, pilot, room.ada_conversation)
        ada_after_send = composer_text(app)
        await back_to_list(app, pilot)
        await open_conversation(app, pilot, room.bob_conversation)
        bob_after = composer_text(app)

    assert in_the_list.endswith(" | Draft: half a thought")
    assert (bob_before, ada_after, ada_after_send, bob_after) == (
        "",
        "half a thought",
        "",
        "for Bob",
    )


@sqlite_only
async def test_drafts_and_failed_messages_survive_a_restart(
    settings: Settings, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    async with restartable_server(settings) as server:
        assert server.running is not None
        async with Api(server.running) as api:
            room = await make_room(api)
            options = {"backoff": PATIENT, "data_dir": data}
            async with tui(server.url, room.mentee_token, **options) as (app, pilot):
                await open_conversation(app, pilot, room.ada_conversation)
                await server.stop()
                await pilot.press(*"lost in the outage", "enter")
                await until(
                    pilot,
                    lambda: [i.delivery for i in log_items(app)] == [Delivery.FAILED],
                    "it fails",
                )
                await pilot.press(*"still typing")
                # Quit from inside the conversation, as a closed terminal would.
            await server.start()
            saved = json.loads(state_file(data, server.url, room.mentee_id).read_text())
            async with tui(server.url, room.mentee_token, **options) as (app, pilot):
                await open_conversation(app, pilot, room.ada_conversation)
                restored = ([(i.text, i.delivery) for i in log_items(app)], composer_text(app))
                await pilot.press("ctrl+r")
                await until(
                    pilot,
                    lambda: [i.delivery for i in log_items(app)] == [Delivery.SENT],
                    "the retry is sent",
                )
            stored = await api.get(
                f"/api/conversations/{room.ada_conversation}/messages", token=room.ada_token
            )

    assert restored == ([("lost in the outage", Delivery.FAILED)], "still typing")
    assert saved["drafts"] == {room.ada_conversation: "still typing"}
    assert [m["content"] for m in stored.body["messages"]] == ["lost in the outage"]


def test_an_unreadable_state_file_is_set_aside_and_a_send_in_flight_is_kept_as_failed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    empty = LocalState(path)
    assert (empty.draft("c1"), empty.unsent("c1")) == ("", [])
    assert path.with_suffix(".unreadable").read_text() == "{not json"

    empty.set_draft("c1", "draft")
    empty.add("c1", Unsent("m1", "in flight"))
    empty.save()
    again = LocalState(path)
    assert again.draft("c1") == "draft"
    assert again.unsent("c1") == [Unsent("m1", "in flight", UnsentState.FAILED)]


@sqlite_only
async def test_a_counter_shows_near_the_limit_and_over_long_text_is_not_sent(api: Api) -> None:
    room = await make_room(api)
    async with tui(api.server.url, room.mentee_token, max_length=100) as (app, pilot):
        await open_conversation(app, pilot, room.ada_conversation)
        composer = app.screen.query_one(Composer)
        composer.insert("  " + "a" * 89)
        await pilot.pause()
        quiet = str(composer.border_subtitle)
        composer.insert("b")
        await pilot.pause()
        near = str(composer.border_subtitle)
        composer.insert("é" * 11 + "  ")  # code points, not bytes, once trimmed: 101
        await pilot.pause()
        over = (str(composer.border_subtitle), composer.has_class("-over-limit"))
        await pilot.press("enter")
        await pilot.pause()
        kept = composer.text
        shown = log_items(app)
        await pilot.press("backspace")
        await pilot.press("backspace", "backspace")  # two trailing spaces and one é
        await pilot.pause()
        fits = (str(composer.border_subtitle), composer.has_class("-over-limit"))
        await pilot.press("enter")
        await until(pilot, lambda: log_items(app), "the message is sent")

    assert quiet == "Enter send · Ctrl+J new line"
    assert near == "90 / 100"
    assert over == ("101 / 100 · 1 too many", True)
    assert kept.strip() == "a" * 89 + "b" + "é" * 11 and shown == []
    assert fits == ("100 / 100", False)


@sqlite_only
async def test_a_draft_filled_in_on_opening_does_not_say_you_are_typing(api: Api) -> None:
    room = await make_room(api)
    async with (
        connected(api.server.url, room.ada_token) as ada,
        tui(api.server.url, room.mentee_token) as (app, pilot),
    ):
        app.local.set_draft(room.ada_conversation, "kept from before")
        await open_conversation(app, pilot, room.ada_conversation)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await ada.barrier()
        quiet = ada.pending("user_typing")
        await pilot.press("!")
        typed = await ada.next("user_typing")

    assert quiet == []
    assert typed["isTyping"] is True
