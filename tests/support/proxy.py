"""A real HTTP reverse proxy in front of a chatkit server that can hold and fail chosen
requests, as a load balancer does while a deploy is under way. Socket.IO goes through it
with the `polling` transport (plain HTTP requests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


class Gate:
    """Requests whose path contains `fragment` wait here until `answer(status)`."""

    def __init__(self, fragment: str) -> None:
        self.fragment = fragment
        self.arrived = asyncio.Event()
        self._answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def answer(self, status: int) -> None:
        self._answer.set_result(status)

    async def wait(self) -> int:
        self.arrived.set()
        return await self._answer


class Proxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.url = ""
        self.gate: Gate | None = None
        self.bodies: list[bytes] = []  # every upstream answer, to wait for a push
        self.seen = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None

    def hold(self, fragment: str) -> Gate:
        """Hold the next request whose path contains `fragment`, until the gate is answered."""
        self.gate = Gate(fragment)
        return self.gate

    async def wait_for_body(self, text: str, timeout: float = 5.0) -> None:
        """Until an upstream answer containing `text` has been passed to the client."""
        async with asyncio.timeout(timeout):
            while not any(text.encode() in body for body in self.bodies):
                self.seen.clear()
                await self.seen.wait()

    async def handle(self, request: web.Request) -> web.Response:
        gate = self.gate
        if gate is not None and gate.fragment in request.path:
            self.gate = None
            status = await gate.wait()
            if status != 200:
                return web.json_response(
                    {"error": {"code": "unavailable", "message": "held by the test proxy"}},
                    status=status,
                )
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            async with self._session.request(
                request.method,
                self.upstream + request.rel_url.path_qs,
                headers=headers,
                data=await request.read(),
            ) as upstream:
                body = await upstream.read()
                status = upstream.status
                kept = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        except aiohttp.ClientError:
            return web.Response(status=502, text="upstream unreachable")
        self.bodies.append(body)
        self.seen.set()
        return web.Response(status=status, body=body, headers=kept)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Proxy]:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        try:
            yield self
        finally:
            await runner.cleanup()
            await self._session.close()
