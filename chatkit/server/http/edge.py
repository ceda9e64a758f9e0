"""The one middleware every HTTP request passes: request id, auth, errors, metrics, access log.

One layer instead of one per concern: each layer stays on the stack for as long as its
request lives, and a Socket.IO websocket is a request that lives for hours — thousands of
idle sockets each kept four middleware frames alive. Socket.IO requests skip it entirely:
Engine.IO answers for itself and authenticates in the /chat namespace.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from chatkit.server.data.database import is_unavailable
from chatkit.server.errors import ChatkitError, NotFound, Unavailable
from chatkit.server.http.auth import Authenticator, authorize
from chatkit.server.http.error_responses import (
    error_response,
    internal_error_response,
    status_error,
)
from chatkit.server.http.logs import REQUEST_ID, REQUEST_ID_HEADER, log_access, request_id_for
from chatkit.server.http.parser_errors import is_protocol_failure, protocol_failure
from chatkit.server.metrics import Metrics

log = logging.getLogger("chatkit.server")

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


def render_failure(exc: Exception, request: web.Request) -> web.StreamResponse:
    """Any failure as the contract's JSON error: never HTML, never a stack trace."""
    if isinstance(exc, ChatkitError):
        return error_response(exc)
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc  # a redirect is a response, not a failure
        return error_response(_from_http(exc))
    if is_protocol_failure(exc):  # a body its Content-Encoding or chunking does not decode
        return error_response(protocol_failure(exc))
    if is_unavailable(exc):
        log.warning("database unavailable during %s %s: %s", request.method, request.path, exc)
        return error_response(
            Unavailable(
                "the database is unavailable right now; nothing was changed, retry",
                headers={"Retry-After": "1"},
            )
        )
    log.error("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    return internal_error_response()


def _from_http(exc: web.HTTPException) -> ChatkitError:
    """aiohttp's own refusals (no route, wrong method, body too large) in our shape."""
    if exc.status == 404:
        return NotFound("no such endpoint", code="not_found")
    return status_error(exc.status)
