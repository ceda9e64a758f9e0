"""A day's comforts: the "New messages" divider, the unread total in the terminal title,
opt-in desktop notifications through the terminal, and `/` to search the loaded history.
Pilot against a real server, SQLite only (see tests/test_tui.py)."""

from __future__ import annotations

import pytest

from chatkit.tui.widgets.composer import Composer
from chatkit.tui.widgets.message_item import MessageItem
from chatkit.tui.widgets.message_log import MessageLog
from chatkit.tui.widgets.search_bar import SearchBar
from tests.support.api import Api
from tests.support.tui import (
    back_to_list,
    conversation_screen,
    log_items,
    make_room,
    open_conversation,
    tui,
    until,
)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def log_lines(log: MessageLog) -> list[str]:
    return [
        child.text if isinstance(child, MessageItem) else "|" + "".join(child.classes)
        for child in log.children
    ]


async def test_a_new_messages_divider_marks_the_first_unread_and_is_in_view(api: Api) -> None:
    room = await make_room(api)
    await api.send(room.ada_token, room.ada_conversation, "read already")
    await api.patch(f"/api/conversations/{room.ada_conversation}/read", token=room.mentee_token)
    for n in range(30):
        await api.send(room.ada_token, room.ada_conversation, f"unread {n}")
    async with tui(api.server.url, room.mentee_token) as (app, pilot):
        log = await open_conversation(app, pilot, room.ada_conversation)
        await pilot.pause()
        lines = log_lines(log)
        divider = log.query_one(".new-divider")
        await pilot.pause()
        in_view = divider.region.overlaps(log.region)
        await back_to_list(app, pilot)
        log = await open_conversation(app, pilot, room.ada_conversation)
        again = log.query(".new-divider")

    first = lines.index("unread 0")
    assert lines[first - 1] == "|new-divider" and lines.count("|new-divider") == 1
    assert lines[first - 2] == "read already"
    assert in_view  # thirty unread do not fit: the view starts at the divider
    assert not again  # read now: no divider on the next visit


async def test_the_terminal_title_carries_the_unread_total(api: Api) -> None:
    room = await make_room(api)
    await api.send(room.ada_token, room.ada_conversation, "one")
    await api.send(room.bob_token, room.bob_conversation, "two")
    async with tui(api.server.url, room.mentee_token) as (app, pilot):
        titles = [s for s in app.terminal.sent if s.startswith("\x1b]2;")]
        await open_conversation(app, pilot, room.ada_conversation)
        await until(
            pilot, lambda: app.terminal.sent[-1] == "\x1b]2;chatkit (1 unread)\x07", "Ada read"
        )

    assert titles[-1] == "\x1b]2;chatkit (2 unread)\x07"
    assert app.terminal.sent[0] == "\x1b[22;2t"  # the terminal's own title is saved...
    assert app.terminal.sent[-1] == "\x1b[23;2t"  # ...and given back on exit


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("osc777", "\x1b]777;notify;Bob Mentor · chatkit;are you free, tomorrow?\x07"),
        ("osc9", "\x1b]9;Bob Mentor · chatkit: are you free; tomorrow?\x07"),
        ("bell", "\x07"),
        ("off", None),
    ],
)
async def test_messages_elsewhere_notify_through_the_terminal_when_asked(
    api: Api, style: str, expected: str | None
) -> None:
    room = await make_room(api)
    async with tui(api.server.url, room.mentee_token, notify=style) as (app, pilot):
        await open_conversation(app, pilot, room.ada_conversation)
        await api.send(room.ada_token, room.ada_conversation, "in the open conversation")
        await until(pilot, lambda: log_items(app), "Ada's message shows")
        text = "are you free, tomorrow?" if style == "osc777" else "are you free; tomorrow?"
        await api.send(room.bob_token, room.bob_conversation, text)
        await until(
            pilot,
            lambda: app.conversations[room.bob_conversation].unread_count == 1,
            "Bob's message arrives",
        )
        titles = ("\x1b]2;", "\x1b[22", "\x1b[23")
        notes = [s for s in app.terminal.sent if not s.startswith(titles)]

    assert notes == ([expected] if expected else [])


async def test_slash_searches_the_loaded_history(api: Api) -> None:
    room = await make_room(api)
    for text in ("an Apple a day", "pears", "apple pie", "plums"):
        await api.send(room.ada_token, room.ada_conversation, text)
    async with tui(api.server.url, room.mentee_token) as (app, pilot):
        log = await open_conversation(app, pilot, room.ada_conversation)
        screen = conversation_screen(app)
        bar = screen.query_one(SearchBar)
        await pilot.press("/")
        opened = (bar.has_focus, bar.display)
        await pilot.press(*"apple")
        await pilot.pause()
        marked = [i.text for i in log.query(".-match")]
        newest = [i.text for i in log.query(".-current-match")]
        counted = str(bar.border_subtitle)
        await pilot.press("enter")
        older = [i.text for i in log.query(".-current-match")]
        await pilot.press("escape")
        closed = (bar.display, screen.query_one(Composer).has_focus, log.query(".-match"))
        await pilot.press("a", "/", "b")
        typed = screen.query_one(Composer).text

    assert opened == (True, True)
    assert marked == ["an Apple a day", "apple pie"]
    assert newest == ["apple pie"] and counted.startswith("1 of 2")
    assert older == ["an Apple a day"]
    assert closed[:2] == (False, True) and not closed[2]
    assert typed == "a/b"  # a slash inside text is just a slash
