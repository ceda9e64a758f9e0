"""The TUI shows edits ("edited"), deletions ("deleted") and the other side's presence (a dot
in the list, "online" / "last seen" above the conversation), live. SQLite only, as
tests/test_tui.py says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from chatkit.config import Settings
from tests.conftest import make_settings
from tests.support.api import Api
from tests.support.sockets import connected
from tests.support.tui import list_lines, log_items, make_room, open_conversation, tui, until

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """A short presence grace period: "last seen" shows well within the wait."""
    return make_settings(database_url, tmp_path, presence_grace=0.5)


async def test_edits_deletions_and_presence_show_live(api: Api) -> None:
    room = await make_room(api)
    typo = (await api.send(room.ada_token, room.ada_conversation, "helo")).body
    oops = (await api.send(room.ada_token, room.ada_conversation, "wrong chat")).body

    async with tui(api.server.url, room.mentee_token) as (app, pilot):
        await until(pilot, lambda: any("Ada Mentor" in line for line in list_lines(app)), "list")
        offline_line = next(line for line in list_lines(app) if "Ada Mentor" in line)
        async with connected(api.server.url, room.ada_token):
            await until(
                pilot,
                lambda: any(line.startswith("● Ada Mentor") for line in list_lines(app)),
                "Ada's dot turns on",
            )
            await open_conversation(app, pilot, room.ada_conversation)
            header = str(app.screen.query_one("#peer", Static).render())
            await api.edit(room.ada_token, room.ada_conversation, typo["id"], "hello")
            await api.remove(room.ada_token, room.ada_conversation, oops["id"])
            await until(
                pilot,
                lambda: (
                    [item.render_text().plain.split("\n")[-1] for item in log_items(app)]
                    == ["hello", "deleted"]
                ),
                "the edit and the deletion show",
            )
            rendered = [item.render_text().plain for item in log_items(app)]
        await until(
            pilot,
            lambda: "last seen" in str(app.screen.query_one("#peer", Static).render()),
            "Ada is shown as gone, with when",
        )

    assert offline_line.startswith("○ Ada Mentor")
    assert "● online" in header
    assert "edited" in rendered[0].split("\n")[0]
    assert "edited" not in rendered[1]
