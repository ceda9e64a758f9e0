"""The one middleware every HTTP request passes: request id, auth, errors, metrics, access log.

One layer instead of one per concern: each layer stays on the stack for as long as its
request lives, and a Socket.IO websocket is a request that lives for hours — thousands of
idle sockets each kept four middleware frames alive. Socket.IO requests skip it entirely:
Engine.IO answers for itself and authenticates in the /chat namespace.
"""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from chatkit.server.errors import render_failure
from chatkit.server.http.auth import Authenticator, authorize
from chatkit.server.http.logs import REQUEST_ID, REQUEST_ID_HEADER, log_access, request_id_for
from chatkit.server.metrics import Metrics

SOCKET_IO_PREFIX = "/socket.io"


def edge_middleware(authenticator: Authenticator, metrics: Metrics) -> Middleware:
    @web.middleware
    async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(SOCKET_IO_PREFIX) and request.match_info.http_exception is None:
            return await handler(request)
        request_id = request_id_for(request)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        try:
            try:
                await authorize(authenticator, request)
                response = await handler(request)
            except Exception as exc:
                response = render_failure(exc, request)
            elapsed = time.perf_counter() - started
            if not response.prepared:
                response.headers[REQUEST_ID_HEADER] = request_id
            if request.path.startswith("/api/"):
                metrics.observe_request(request, response.status, elapsed)
            log_access(request, response.status, elapsed)
            return response
        finally:
            REQUEST_ID.reset(token)

    return edge
