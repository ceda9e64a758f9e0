"""Liveness and readiness, without auth."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from chatkit.server.metrics import CONTENT_TYPE
from chatkit.server.services import services
from chatkit.server.wire.jsonutil import json_response

routes = web.RouteTableDef()
log = logging.getLogger("chatkit.server")

READY_TIMEOUT_SECONDS = 2.0


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    app = services(request)
    checks: dict[str, str] = {}
    for name, check in app.readiness.items():
        try:
            await asyncio.wait_for(check(), READY_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as exc:  # any failure means "not ready", whatever was raised
            log.warning("readiness: %s check failed: %s", name, exc)
            checks[name] = "unavailable"
    if all(state == "ok" for state in checks.values()):
        return json_response({"status": "ok", "checks": checks})
    failing = ", ".join(name for name, state in checks.items() if state != "ok")
    error = {"code": "not_ready", "message": f"not ready: {failing} unavailable"}
    return json_response({"error": error, "status": "unavailable", "checks": checks}, status=503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics (no auth: expose this port to your scraper, not the internet)."""
    app = services(request)
    return web.Response(body=app.metrics.render(), headers={"Content-Type": CONTENT_TYPE})
