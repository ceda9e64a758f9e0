"""/api/openapi.json: the REST API's OpenAPI 3.1 document, without auth."""

from __future__ import annotations

from aiohttp import web

from chatkit.server.http.openapi import document
from chatkit.server.wire.jsonutil import json_response

routes = web.RouteTableDef()


@routes.get("/api/openapi.json")
async def openapi_document(request: web.Request) -> web.Response:
    # Built per request (about a millisecond): nothing cached at module level.
    return json_response(document())
