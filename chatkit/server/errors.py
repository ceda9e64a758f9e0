"""One error tree. Each class carries its HTTP status and code; one middleware renders it.

The store raises these (they are domain errors that happen to know their status); the socket
namespace turns them into `{"ok": false, "error": {...}}` acknowledgements.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

import orjson
from aiohttp import hdrs, web

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


class UriTooLong(ChatkitError):
    status = 414
    code = "uri_too_long"
    message = "the request line is longer than 8190 bytes; send long values in the body"


class UnsupportedMediaType(ChatkitError):
    status = 415
    code = "unsupported_media_type"
    message = "send the body as application/json"


class Unprocessable(ChatkitError):
    status = 422
    code = "validation_error"
    message = "a field has an invalid value"


class HeadersTooLarge(ChatkitError):
    status = 431
    code = "headers_too_large"
    message = "a request header is longer than 8190 bytes"


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
    414: UriTooLong,
    415: UnsupportedMediaType,
    422: Unprocessable,
    431: HeadersTooLarge,
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
    from chatkit.server.http.parser_errors import is_protocol_failure, protocol_failure

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


_ERROR_BODY_PREFIX = b'{"error":'


async def errors_in_json(request: web.Request, response: web.StreamResponse) -> None:
    """Error responses that others write (Engine.IO's refusals on /socket.io, aiohttp's 417 for
    an unknown Expect) in the contract's shape too; ours pass through untouched."""
    if response.status < 400 or not isinstance(response, web.Response):
        return
    body = response.body
    if isinstance(body, bytes) and body.startswith(_ERROR_BODY_PREFIX):
        return
    error = status_error(response.status)
    text = _text_of(body)
    if text:
        error.message = text
    body = orjson.dumps(error.body())
    response.body = body
    response.content_type = "application/json"
    # The headers were prepared for the old body already (the signal runs after that).
    response.headers[hdrs.CONTENT_LENGTH] = str(len(body))


def _text_of(body: object) -> str:
    """A short human message from a body that is text or a JSON string."""
    if not isinstance(body, bytes) or len(body) > 200:
        return ""
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        decoded = body.decode("utf-8", "replace")
    if not isinstance(decoded, str):
        return ""
    return "".join(char for char in decoded.strip() if char.isprintable())


def internal_error_response() -> web.Response:
    failed: Error = {
        "error": {"code": "internal_error", "message": "the server failed; it was logged"}
    }
    return json_response(failed, status=500)


def _from_http(exc: web.HTTPException) -> ChatkitError:
    """aiohttp's own refusals (no route, wrong method, body too large) in our shape."""
    if exc.status == 404:
        return NotFound("no such endpoint", code="not_found")
    return status_error(exc.status)


def status_error(status: int) -> ChatkitError:
    """The error for a bare status (from aiohttp, which gives no more than that)."""
    error_class = _HTTP_EXCEPTIONS.get(status)
    if error_class is not None:
        return error_class()
    try:
        reason = HTTPStatus(status).phrase.lower()
    except ValueError:
        reason = "error"
    error = ChatkitError(reason, code=reason.replace(" ", "_").replace("-", "_"))
    error.status = status
    return error
