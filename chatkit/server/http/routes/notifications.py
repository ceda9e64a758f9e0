"""Email notification preferences: the caller's own switch, and one-click unsubscribe links.

`PUT /api/me/notifications {"email": bool}` (bearer token) turns the caller's emails on or
off; `GET` reads the switch. The `List-Unsubscribe` link of every email points at
`/notifications/unsubscribe?token=...` (outside /api: the signed token is the credential);
mail clients POST to it (RFC 8058 one-click), a person opening it gets a page with a button.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from chatkit.config import signing_secret
from chatkit.server.errors import BadRequest
from chatkit.server.http.auth import caller
from chatkit.server.http.routes.params import body
from chatkit.server.notify.unsubscribe import UNSUBSCRIBE_PATH, verify_unsubscribe_token
from chatkit.server.services import services
from chatkit.server.wire.jsonutil import json_response
from chatkit.server.wire.schemas import NotificationPrefsIn

routes = web.RouteTableDef()


@routes.get("/api/me/notifications")
async def get_preferences(request: web.Request) -> web.Response:
    record = await services(request).store.users.require(caller(request).user_id)
    return json_response({"email": record.notify_email})


@routes.put("/api/me/notifications")
async def put_preferences(request: web.Request) -> web.Response:
    payload = await body(request, NotificationPrefsIn)
    await services(request).store.users.set_notify_email(
        user_id=caller(request).user_id, enabled=payload.email
    )
    return json_response({"email": payload.email})


def _unsubscribing_user(request: web.Request) -> str:
    user_id = verify_unsubscribe_token(
        signing_secret(services(request).settings), request.query.get("token")
    )
    if user_id is None:
        raise BadRequest("this unsubscribe link is not valid", code="invalid_unsubscribe_token")
    return user_id


@routes.get(UNSUBSCRIBE_PATH)
async def unsubscribe_page(request: web.Request) -> web.Response:
    # GET changes nothing: link scanners and previews open URLs in emails.
    user_id = _unsubscribing_user(request)
    await services(request).store.users.require(user_id)
    action = escape(f"{UNSUBSCRIBE_PATH}?{request.query_string}")
    return _page(
        "Stop notification emails?",
        f'<form method="post" action="{action}">'
        '<button type="submit">Stop emails about unread messages</button></form>',
    )


@routes.post(UNSUBSCRIBE_PATH)
async def unsubscribe(request: web.Request) -> web.Response:
    user_id = _unsubscribing_user(request)
    await services(request).store.users.set_notify_email(user_id=user_id, enabled=False)
    if "text/html" in request.headers.get("Accept", ""):
        return _page(
            "Unsubscribed",
            "<p>You will get no more emails about unread messages. "
            "You can turn them on again in the app.</p>",
        )
    return json_response({"email": False})


def _page(title: str, content: str) -> web.Response:
    return web.Response(
        text=f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body style='font-family: sans-serif'><h1>{title}</h1>{content}</body></html>",
        content_type="text/html",
    )
