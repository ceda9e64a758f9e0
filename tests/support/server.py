"""A real chatkit server on a free loopback port, inside the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from chatkit.config import Settings
from chatkit.server.app import create_app
from chatkit.server.http.parser_errors import JsonErrorRunner
from chatkit.server.realtime.transport import front
from chatkit.server.services import SERVICES, Services
from chatkit.tokens import mint


@dataclass
class Endpoint:
    """Any chatkit server the tests talk to: its base URL and the settings to mint tokens."""

    settings: Settings
    url: str

    def token(self, user_id: str | None, *, ttl: int = 3600, admin: bool = False) -> str:
        return mint(self.settings, user_id=user_id, ttl_seconds=ttl, admin=admin)

    @property
    def admin_token(self) -> str:
        return self.token(None, admin=True)


@dataclass
class RunningServer(Endpoint):
    """A server running inside the test's own event loop."""

    app: web.Application

    @property
    def services(self) -> Services:
        return self.app[SERVICES]


@asynccontextmanager
async def running_server(settings: Settings) -> AsyncIterator[RunningServer]:
    app = create_app(settings)
    runner = JsonErrorRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2)
    await runner.setup()
    listening = await front.listen(runner, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield RunningServer(settings=settings, url=f"http://127.0.0.1:{port}", app=app)
    finally:
        listening.close()
        await runner.cleanup()
