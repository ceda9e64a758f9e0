"""The contract's JSON error as an HTTP response, for our errors and for bare statuses.

The error tree (`chatkit.server.errors`) says what went wrong and with which status; this
module writes the response. The edge middleware (`render_failure`) and the parser's error
handler (`parser_errors.py`) answer through it, and `errors_in_json` reshapes the error
responses that others (Engine.IO, aiohttp) write.
"""

from __future__ import annotations

from http import HTTPStatus

import orjson
from aiohttp import hdrs, web

from chatkit.server.errors import (
    BadRequest,
    ChatkitError,
    Forbidden,
    HeadersTooLarge,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
    UriTooLong,
)
from chatkit.server.wire.jsonutil import json_response
from chatkit.wire import Error

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
