"""The conversation list never moves what Enter opens under the reader: no re-sort while
they move through it, the highlight follows its conversation when it does re-sort, and no
wrap-around. Pilot against a real server, SQLite only (see tests/test_tui.py)."""

from __future__ import annotations

import pytest

from chatkit.tui.screens.conversation import ConversationScreen
from chatkit.tui.widgets.conversation_list import ConversationList
from tests.support.api import Api
from tests.support.tui import list_lines, make_room, tui, until

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_the_list_holds_still_while_the_reader_moves_and_enter_opens_what_they_saw(
    api: Api,
) -> None:
    room = await make_room(api)
    await api.send(room.ada_token, room.ada_conversation, "older")
    await api.send(room.bob_token, room.bob_conversation, "newer")
    # Never settles within the test: the reader is always "moving".
    async with tui(api.server.url, room.mentee_token, list_settle=60.0) as (app, pilot):
        listing = app.screen.query_one(ConversationList)
        before = list(listing.conversation_ids)
        await pilot.press("down")  # onto Ada, the second row
        await api.send(room.ada_token, room.ada_conversation, "Ada moves up")
        await until(pilot, lambda: "Ada moves up" in "".join(list_lines(app)), "the row updates")
        during = list(listing.conversation_ids)
        await pilot.press("down")  # the last row: stays there, no wrap to the top
        at_end = listing.highlighted_id
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConversationScreen), "it opens")
        opened = app.screen.conversation_id  # type: ignore[attr-defined]

    assert before == [room.bob_conversation, room.ada_conversation]
    assert during == before  # not re-sorted under the cursor
    assert at_end == room.ada_conversation
    assert opened == room.ada_conversation


async def test_once_the_reader_pauses_the_list_re_sorts_and_the_highlight_follows(
    api: Api,
) -> None:
    room = await make_room(api)
    await api.send(room.ada_token, room.ada_conversation, "older")
    await api.send(room.bob_token, room.bob_conversation, "newer")
    async with tui(api.server.url, room.mentee_token, list_settle=0.2) as (app, pilot):
        listing = app.screen.query_one(ConversationList)
        await pilot.press("down", "up")  # back on Bob, the first row; up again stays
        await pilot.press("up")
        on_top = listing.highlighted_id
        await api.send(room.ada_token, room.ada_conversation, "Ada moves up")
        await until(
            pilot,
            lambda: listing.conversation_ids[0] == room.ada_conversation,
            "the list re-sorts after the pause",
        )
        followed = (listing.highlighted_id, listing.highlighted)

    assert on_top == room.bob_conversation
    assert followed == (room.bob_conversation, 1)
