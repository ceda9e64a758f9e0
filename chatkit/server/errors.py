"""One error tree. Each class carries its HTTP status and code; one middleware renders it.

The store raises these (they are domain errors that happen to know their status); the socket
namespace turns them into `{"ok": false, "error": {...}}` acknowledgements.
"""

from __future__ import annotations

import logging

from aiohttp import web

from chatkit.server.wire.jsonutil import json_response
from chatkit.wire import Error

log = logging.getLogger("chatkit.server")


class ChatkitError(Exception):
    status = 400
    code = "bad_request"
    message = "the request is malformed"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.code = code or type(self).code
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self) -> Error:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(ChatkitError):
    status = 400
    code = "bad_request"


class Unauthorized(ChatkitError):
    status = 401
    code = "unauthorized"
    message = "a valid bearer token is required"


class Forbidden(ChatkitError):
    status = 403
    code = "forbidden"
    message = "you may not do this"


class NotFound(ChatkitError):
    status = 404
    code = "not_found"
    message = "no such resource"


class MethodNotAllowed(ChatkitError):
    status = 405
    code = "method_not_allowed"
    message = "this method is not allowed here"


class Conflict(ChatkitError):
    status = 409
    code = "conflict"
    message = "the request conflicts with the current state"


class PayloadTooLarge(ChatkitError):
    status = 413
    code = "payload_too_large"
    message = "the request body is too large"


class UnsupportedMediaType(ChatkitError):
    status = 415
    code = "unsupported_media_type"
    message = "send the body as application/json"


class Unprocessable(ChatkitError):
    status = 422
    code = "validation_error"
    message = "a field has an invalid value"


class RateLimited(ChatkitError):
    status = 429
    code = "rate_limited"
    message = "too many requests"

    def __init__(self, message: str | None = None, *, retry_after: float) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(message, headers={"Retry-After": str(seconds)})
        self.retry_after = seconds


class Unavailable(ChatkitError):
    status = 503
    code = "unavailable"
    message = "the service is temporarily unavailable, try again"


_HTTP_EXCEPTIONS: dict[int, type[ChatkitError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: Unprocessable,
}


def error_response(error: ChatkitError) -> web.Response:
    return json_response(error.body(), status=error.status, headers=error.headers)


def render_failure(exc: Exception, request: web.Request) -> web.StreamResponse:
    """Any failure as the contract's JSON error: never HTML, never a stack trace."""
    if isinstance(exc, ChatkitError):
        return error_response(exc)
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc  # a redirect is a response, not a failure
        return error_response(_from_http(exc))
    from chatkit.server.data.database import is_unavailable

    if is_unavailable(exc):
        log.warning("database unavailable during %s %s: %s", request.method, request.path, exc)
        return error_response(
            Unavailable(
                "the database is unavailable right now; nothing was changed, retry",
                headers={"Retry-After": "1"},
            )
        )
    log.error("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    failed: Error = {
        "error": {"code": "internal_error", "message": "the server failed; it was logged"}
    }
    return json_response(failed, status=500)


def _from_http(exc: web.HTTPException) -> ChatkitError:
    """aiohttp's own refusals (no route, wrong method, body too large) in our shape."""
    if exc.status == 404:
        return NotFound("no such endpoint", code="not_found")
    error_class = _HTTP_EXCEPTIONS.get(exc.status)
    if error_class is not None:
        return error_class()
    error = ChatkitError(exc.reason.lower(), code=exc.reason.lower().replace(" ", "_"))
    error.status = exc.status
    return error
