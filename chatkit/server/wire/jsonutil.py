"""Fast JSON (orjson) for REST bodies and for python-socketio's packets."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

JSONDecodeError = orjson.JSONDecodeError


def dumps(obj: Any, **_ignored: Any) -> str:
    """python-socketio calls `json.dumps(data, separators=...)` and wants a str back."""
    return orjson.dumps(obj).decode()


def loads(data: str | bytes, **_ignored: Any) -> Any:
    return orjson.loads(data)


def json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body),
        status=status,
        headers=headers,
        content_type="application/json",
    )
