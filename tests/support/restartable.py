"""A real chatkit server that a test can stop and start again on the same port and database,
as an operator's restart would look to connected clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from chatkit.config import Settings
from chatkit.server.app import create_app
from chatkit.server.http.parser_errors import JsonErrorRunner
from tests.support.server import RunningServer


class RestartableServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = 0
        self._runner: web.AppRunner | None = None
        self.running: RunningServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self, user_id: str | None, *, ttl: int = 3600, admin: bool = False) -> str:
        assert self.running is not None
        return self.running.token(user_id, ttl=ttl, admin=admin)

    async def start(self) -> RunningServer:
        app = create_app(self.settings)
        runner = JsonErrorRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2)
        await runner.setup()
        # reuse_address lets the restart bind the port its predecessor's connections still
        # hold in TIME_WAIT.
        site = web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._runner = runner
        self.running = RunningServer(settings=self.settings, url=self.url, app=app)
        return self.running

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@asynccontextmanager
async def restartable_server(settings: Settings) -> AsyncIterator[RestartableServer]:
    server = RestartableServer(settings)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
