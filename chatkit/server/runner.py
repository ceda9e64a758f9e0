"""Run the server in this process until SIGINT/SIGTERM, then shut down gracefully."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from aiohttp import web

from chatkit.config import Settings
from chatkit.server.app import create_app

log = logging.getLogger("chatkit.server")

SHUTDOWN_GRACE_SECONDS = 10.0


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiohttp's access log is too chatty for a chat server under load.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if settings.log_level != "debug":
        logging.getLogger("alembic").setLevel(logging.WARNING)


async def serve(settings: Settings, *, on_ready: Callable[[str], None] | None = None) -> None:
    app = create_app(settings)
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port, reuse_port=settings.workers > 1)
        await site.start()
        url = _listening_url(site, settings)
        if on_ready is not None:
            on_ready(url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("shutting down")
    finally:
        await runner.cleanup()


def _listening_url(site: web.TCPSite, settings: Settings) -> str:
    # The bound port matters when port 0 asked for any free one.
    sockets = getattr(site._server, "sockets", None)
    port = sockets[0].getsockname()[1] if sockets else settings.port
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    return f"http://{host}:{port}"


def run(settings: Settings, *, on_ready: Callable[[str], None] | None = None) -> None:
    configure_logging(settings)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is optional on platforms without it
        asyncio.run(serve(settings, on_ready=on_ready))
    else:
        uvloop.run(serve(settings, on_ready=on_ready))
