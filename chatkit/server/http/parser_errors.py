"""Requests that are not valid HTTP, or whose body cannot be decoded, as the JSON error.

aiohttp refuses such requests before any middleware runs (a request line or header over its
8,190-byte limit, a bad request line, TLS bytes on the plain port, bad chunking) and answers
them from `RequestHandler.handle_error` in plain text; a body that its Content-Encoding does
not decode fails later, inside the handler that reads it. `protocol_failure` is the one place
that turns every such failure into a `ChatkitError`: the edge middleware uses it for the
second kind, and `JsonErrorRunner` installs a `RequestHandler` whose `handle_error` uses it
for the first.

This module is the only one that relies on aiohttp internals: `RequestHandler.handle_error`
and its arguments, `Server._loop`/`Server._kwargs`, `AppRunner._make_server`, and the
exception classes of `aiohttp.http_exceptions`. It was written for and tested on aiohttp
3.14.0 and 3.14.5; `check_aiohttp_version` refuses to start on anything before 3.14 or from 4
on, and pyproject caps aiohttp below 4.
"""

from __future__ import annotations

import inspect
import logging
import re
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMessage,
    BadStatusLine,
    ContentEncodingError,
    ContentLengthError,
    HttpProcessingError,
    LineTooLong,
    TransferEncodingError,
)

from chatkit.server.errors import (
    BadRequest,
    ChatkitError,
    HeadersTooLarge,
    PayloadTooLarge,
    UnsupportedMediaType,
    UriTooLong,
)
from chatkit.server.http.error_responses import (
    error_response,
    internal_error_response,
    status_error,
)

log = logging.getLogger("chatkit.server")

WRITTEN_FOR = ((3, 14), (3, 14))
# A request target: the C parser reports the URL alone, the Python parser the whole line.
_REQUEST_TARGET = re.compile(rb"^([A-Za-z]+ +)?(/|\*|[A-Za-z][A-Za-z0-9+.-]*://)")
_TLS_RECORD = "\x16\x03"
_MESSAGE_LIMIT = 120


class AiohttpVersionError(RuntimeError):
    pass


def check_aiohttp_version(version: str = aiohttp.__version__) -> None:
    """Refuse to start on an aiohttp whose internals this module was not written for."""
    parts = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if len(parts) < 2 or parts[0] != 3 or parts < WRITTEN_FOR[0]:
        raise AiohttpVersionError(
            f"aiohttp {version} is not supported: chatkit needs aiohttp 3.14 or a later 3.x"
        )
    parameters = list(inspect.signature(web.RequestHandler.handle_error).parameters)
    if parameters[:5] != ["self", "request", "status", "exc", "message"]:
        raise AiohttpVersionError(
            f"aiohttp {version}: RequestHandler.handle_error{parameters} is not the "
            "signature chatkit's JSON errors were written for"
        )


def is_protocol_failure(exc: BaseException) -> bool:
    return isinstance(exc, HttpProcessingError | web.RequestPayloadError)


def protocol_failure(exc: BaseException) -> ChatkitError:
    """The client's HTTP or body encoding was wrong: a 4xx with a message of our own (aiohttp's
    quote the offending bytes, which may be binary or someone's token)."""
    if isinstance(exc, web.RequestPayloadError):
        # The handler sees the decoder's error wrapped; its cause says what went wrong.
        cause = exc.__cause__
        if not isinstance(cause, HttpProcessingError):
            return BadRequest("the request body could not be read", code="invalid_body")
        exc = cause
    if type(exc).__name__ == "DecompressSizeError":  # aiohttp >= 3.13 only
        return PayloadTooLarge("the body is too large once decompressed")
    if isinstance(exc, ContentEncodingError) and "install" in exc.message:
        return UnsupportedMediaType(  # a coding aiohttp knows but cannot decode here (zstd)
            "the Content-Encoding is not supported; use gzip, deflate or br, or none",
            code="unsupported_content_encoding",
        )
    if isinstance(exc, ContentEncodingError):
        return BadRequest(
            "the body is not encoded as its Content-Encoding header says",
            code="invalid_content_encoding",
        )
    if isinstance(exc, TransferEncodingError):
        return BadRequest("the chunked body is malformed", code="invalid_chunked_body")
    if isinstance(exc, ContentLengthError):
        return BadRequest("the body is shorter than its Content-Length", code="incomplete_body")
    if isinstance(exc, LineTooLong):
        line = exc.args[0] if exc.args else b""
        if isinstance(line, bytes | bytearray) and _REQUEST_TARGET.match(bytes(line)):
            return UriTooLong()
        return HeadersTooLarge()
    if isinstance(exc, BadHttpMessage) and exc.message == "Too many headers received":
        return HeadersTooLarge("there are too many request headers")
    if isinstance(exc, BadStatusLine):
        if exc.message.startswith("Received HTTPS") or exc.line.startswith(_TLS_RECORD):
            return BadRequest("this port speaks plain HTTP, not TLS", code="not_http")
        return BadRequest(f"the request line is invalid: {_reason(exc)}", code="bad_request_line")
    if isinstance(exc, HttpProcessingError):
        return BadRequest(f"the request is not valid HTTP/1.1: {_reason(exc)}", code="bad_http")
    return BadRequest()


def _reason(exc: HttpProcessingError) -> str:
    """aiohttp's explanation without the quoted bytes it appends on the following lines."""
    first = (exc.message or "").split("\n", 1)[0].strip().rstrip(":")
    printable = "".join(char for char in first if char.isascii() and char.isprintable())
    return printable[:_MESSAGE_LIMIT].lower() or "malformed"


class JsonErrorRequestHandler(web.RequestHandler):
    """aiohttp's protocol, with its own error responses in the contract's shape."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            # Part of a response went out already: nothing can be said any more.
            raise ConnectionError("the response had started; the connection is dropped")
        if status == 500:
            log.error("error handling a request from %s", request.remote, exc_info=exc)
            response = internal_error_response()
        elif status > 500:
            response = error_response(status_error(status))
        else:
            log.debug("refused a malformed request from %s: %s", request.remote, exc)
            error = protocol_failure(exc) if exc is not None else status_error(status)
            response = error_response(error)
        response.force_close()
        return response


class JsonErrorServer(web.Server):
    def __call__(self) -> web.RequestHandler:
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorRunner(web.AppRunner):
    """An AppRunner whose connections answer even unparseable requests in JSON."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        check_aiohttp_version()
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return JsonErrorServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )
