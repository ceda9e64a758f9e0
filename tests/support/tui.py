"""Driving the TUI with Textual's Pilot against a real server: a room of three users, the app
started as one of them, and waits on the app's state with a timeout."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from textual.pilot import Pilot

from chatkit.client import Backoff
from chatkit.tui import ChatApp, TuiOptions, make_app
from chatkit.tui.screens.conversation import ConversationScreen
from chatkit.tui.screens.conversations import ConversationsScreen
from chatkit.tui.widgets.conversation_list import ConversationList
from chatkit.tui.widgets.message_item import MessageItem
from chatkit.tui.widgets.message_log import MessageLog
from tests.support.api import Api

TIMEOUT = 5.0
SIZE = (80, 24)
# Never retries by itself within a test: the test says when (Ctrl+O) or the server's return
# does (the probe).
PATIENT = Backoff(first=60.0, maximum=60.0, jitter=0.0)


async def until(pilot: Pilot[None], condition: Callable[[], object], what: str) -> None:
    """Let the app run until `condition()` holds; fail after TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await pilot.pause(0.02)


@dataclass
class Room:
    """A mentee (the TUI user) with two mentors, each with a conversation."""

    mentee_id: str
    mentee_token: str
    ada_id: str
    ada_token: str
    ada_conversation: str
    bob_token: str
    bob_conversation: str


async def make_room(api: Api) -> Room:
    mentee = await api.user("Mia Mentee")
    ada = await api.user("Ada Mentor")
    bob = await api.user("Bob Mentor")
    conversations = []
    for mentor in (ada, bob):
        session = await api.session(mentor, mentee, status="completed")
        reply = await api.post(
            "/api/conversations/by-session",
            token=api.server.token(mentor),
            json={"sessionId": session},
        )
        conversations.append(reply.body["id"])
    return Room(
        mentee_id=mentee,
        mentee_token=api.server.token(mentee),
        ada_id=ada,
        ada_token=api.server.token(ada),
        ada_conversation=conversations[0],
        bob_token=api.server.token(bob),
        bob_conversation=conversations[1],
    )


@asynccontextmanager
async def tui(
    url: str, token: str, *, ready: bool = True, **options: object
) -> AsyncIterator[tuple[ChatApp, Pilot[None]]]:
    app = make_app(TuiOptions(url=url, token=token, **options))  # type: ignore[arg-type]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        if ready:
            await until(
                pilot, lambda: app.loaded and app.realtime and app.realtime.connected, "ready"
            )
        yield app, pilot


def list_lines(app: ChatApp) -> list[str]:
    listing = app.screen.query_one(ConversationList)
    return [
        str(listing.get_option_at_index(i).prompt).replace("\n", " | ")
        for i in range(listing.option_count)
    ]


def log_items(app: ChatApp) -> list[MessageItem]:
    return list(app.screen.query_one(MessageLog).query(MessageItem))


def conversation_screen(app: ChatApp) -> ConversationScreen:
    screen = app.screen
    assert isinstance(screen, ConversationScreen)
    return screen


async def open_conversation(
    app: ChatApp, pilot: Pilot[None], conversation_id: str, *, loads: bool = True
) -> MessageLog:
    listing = app.screen.query_one(ConversationList)
    listing.highlighted = listing.conversation_ids.index(conversation_id)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, ConversationScreen), "the screen opens")
    screen = conversation_screen(app)
    if loads:
        await until(pilot, screen.history_loaded.is_set, "the history loads")
    return screen.query_one(MessageLog)


async def back_to_list(app: ChatApp, pilot: Pilot[None]) -> None:
    await pilot.press("escape")
    await until(pilot, lambda: isinstance(app.screen, ConversationsScreen), "back to the list")
