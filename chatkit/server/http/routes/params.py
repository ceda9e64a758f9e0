"""Query-string and path parameters, checked the same way everywhere."""

from __future__ import annotations

from aiohttp import hdrs, web

from chatkit.ids import parse_uuid
from chatkit.server.errors import BadRequest, NotFound, UnsupportedMediaType
from chatkit.server.wire.schemas import BodyT, parse_json, validate


def int_param(request: web.Request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number", code="invalid_query") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}", code="invalid_query")
    return value


MAX_OFFSET = 1_000_000_000


def page_params(request: web.Request, *, default_limit: int, max_limit: int) -> tuple[int, int]:
    """A listing's `limit` (1 to max_limit) and `offset` (0 to MAX_OFFSET)."""
    limit = int_param(request, "limit", default=default_limit, low=1, high=max_limit)
    offset = int_param(request, "offset", default=0, low=0, high=MAX_OFFSET)
    return limit, offset


def path_id(request: web.Request, *, what: str = "resource") -> str:
    """The `{id}` of the path as a canonical UUID; anything else names nothing (404)."""
    value = parse_uuid(request.match_info["id"])
    if value is None:
        raise NotFound(f"no such {what}", code=f"{what}_not_found")
    return value


def new_path_id(request: web.Request) -> str:
    """The `{id}` of a PUT that may create: it must be a UUID (400 otherwise)."""
    value = parse_uuid(request.match_info["id"])
    if value is None:
        raise BadRequest("the id in the path must be a UUID", code="invalid_id")
    return value


# aiohttp decodes these before the handler sees the body (zstd only with backports.zstd;
# without it aiohttp refuses, which parser_errors answers with 415 too).
DECODED_ENCODINGS = frozenset({"", "identity", "gzip", "deflate", "br", "zstd"})


async def body(request: web.Request, model: type[BodyT]) -> BodyT:
    encoding = request.headers.get(hdrs.CONTENT_ENCODING, "").strip().lower()
    if encoding not in DECODED_ENCODINGS:
        # Anything else reaches us still encoded: reading it as JSON would be a guess.
        raise UnsupportedMediaType(
            "the Content-Encoding is not supported; use gzip, deflate or br, or none",
            code="unsupported_content_encoding",
        )
    return validate(model, parse_json(await request.read()))
