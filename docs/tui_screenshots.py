"""Regenerate the screenshots in docs/images/ with Textual's own `save_screenshot`.

Run from the repository root: `python docs/tui_screenshots.py`. It seeds the demo dataset at a
fixed instant into a throw-away SQLite database, serves it on a free port, and drives the
app headless at 100×30.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatkit import demo  # noqa: E402
from chatkit.server.data import migrate  # noqa: E402
from chatkit.server.data.database import Database  # noqa: E402
from chatkit.server.data.store import Store  # noqa: E402
from chatkit.tui import ChatApp, TuiOptions, make_app  # noqa: E402
from chatkit.tui.screens.conversation import ConversationScreen  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.support.threaded import threaded_server  # noqa: E402

FROZEN = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)
OUT = Path(__file__).resolve().parent / "images"


async def seed(url: str) -> None:
    database = Database(url)
    try:
        await migrate.upgrade(database)
        await demo.seed(Store(database), now=FROZEN)
    finally:
        await database.dispose()


async def until(app: ChatApp, condition: object) -> None:
    deadline = time.monotonic() + 10
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def shoot(url: str, token: str) -> None:
    app = make_app(TuiOptions(url=url, token=token, now=lambda: FROZEN, tz=UTC))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(app, lambda: app.loaded and app.realtime and app.realtime.connected)
        await pilot.pause()
        app.save_screenshot("tui-conversations.svg", path=str(OUT))
        await pilot.press("down", "enter")
        screen = app.screen
        assert isinstance(screen, ConversationScreen)
        await until(app, screen.history_loaded.is_set)
        await pilot.press(*"Thanks Linus! Bring it on Thursday.")
        await pilot.pause()
        app.save_screenshot("tui-conversation.svg", path=str(OUT))
        await pilot.press("f1")
        await pilot.pause()
        app.save_screenshot("tui-help.svg", path=str(OUT))


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = make_settings(
            f"sqlite+aiosqlite:///{folder}/chatkit.db", Path(folder), jwt_secret="x" * 32
        )
        asyncio.run(seed(settings.database_url))
        with threaded_server(settings) as server:
            asyncio.run(shoot(server.url, server.token(demo.USERS[0].id)))
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('tui-*.svg')))} in {OUT}")


if __name__ == "__main__":
    main()
