"""One error tree. Each class carries its HTTP status and code.

The store raises these (they are domain errors that happen to know their status); the edge
middleware renders them as JSON responses (`http/edge.py`, `http/error_responses.py`), and the
socket namespace turns them into `{"ok": false, "error": {...}}` acknowledgements.
"""

from __future__ import annotations

from chatkit.wire import Error


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
