"""Liveness and readiness, without auth."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from chatkit.server.jsonutil import json_response
from chatkit.server.services import services

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
    try:
        await asyncio.wait_for(app.database.ping(), READY_TIMEOUT_SECONDS)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready", whatever the driver raised
        log.warning("readiness: database check failed: %s", exc)
        checks["database"] = "unavailable"
    ready = all(state == "ok" for state in checks.values())
    return json_response(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )
