"""Logging: text or one JSON object per line, each record carrying the request id."""

from __future__ import annotations

import itertools
import logging
import sys
import uuid
from contextvars import ContextVar

from aiohttp import web
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: ContextVar[str] = ContextVar("chatkit_request_id", default="-")
# Request ids: unique per process start and counter, without a random draw per request.
_PROCESS_TAG = uuid.uuid4().hex[:8]
_SEQUENCE = itertools.count(1)
REQUEST_ID_HEADER = "X-Request-Id"
access_log = logging.getLogger("chatkit.access")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def configure(level: str, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    formatter: logging.Formatter
    if log_format == "json":
        formatter = JsonFormatter(
            "{asctime}{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    else:
        formatter = logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's own access log is too chatty for a chat server under load; ours is at debug.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Driver chatter drowns our own debug lines.
    for noisy in ("aiosqlite", "asyncio", "engineio", "socketio"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
    if level != "debug":
        logging.getLogger("alembic").setLevel(logging.WARNING)


def request_id_for(request: web.Request) -> str:
    """The caller's X-Request-Id when it is a sensible one, else a new id."""
    value = request.headers.get(REQUEST_ID_HEADER)
    if value and len(value) <= 128 and value.isprintable() and " " not in value:
        return value
    return f"{_PROCESS_TAG}-{next(_SEQUENCE):x}"


def log_access(request: web.Request, status: int, seconds: float) -> None:
    if access_log.isEnabledFor(logging.DEBUG):
        access_log.debug("%s %s %d %.1fms", request.method, request.path, status, seconds * 1000)
