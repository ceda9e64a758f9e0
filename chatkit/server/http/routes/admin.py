"""/api/admin: how the surrounding platform syncs its users and sessions (admin tokens)."""

from __future__ import annotations

from aiohttp import web

from chatkit.ids import parse_uuid
from chatkit.server.errors import BadRequest
from chatkit.server.http.routes.params import body, new_path_id, page_params, path_id
from chatkit.server.services import services
from chatkit.server.wire import admin_writes, render
from chatkit.server.wire.jsonutil import json_response
from chatkit.server.wire.schemas import NotificationPrefsIn, SessionIn, UserIn

routes = web.RouteTableDef()


@routes.put("/api/admin/users/{id}")
async def put_user(request: web.Request) -> web.Response:
    user_id = new_path_id(request)
    payload = await body(request, UserIn)
    app = services(request)
    user, created = await admin_writes.put_user(app.store, user_id, payload)
    app.authenticator.forget(user_id)
    return json_response(user, status=201 if created else 200)


@routes.get("/api/admin/users/{id}")
async def get_user(request: web.Request) -> web.Response:
    record = await services(request).store.users.require(path_id(request, what="user"))
    return json_response(render.user(record))


@routes.get("/api/admin/users")
async def list_users(request: web.Request) -> web.Response:
    limit, offset = page_params(request, default_limit=100, max_limit=1000)
    records = await services(request).store.users.list(limit=limit, offset=offset)
    return json_response([render.user(record) for record in records])


@routes.put("/api/admin/users/{id}/notifications")
async def put_user_notifications(request: web.Request) -> web.Response:
    """Turn a user's offline-message emails on or off (what `chatkit users notify-on/off`
    does), as /api/me/notifications lets the user do for themselves."""
    user_id = path_id(request, what="user")
    payload = await body(request, NotificationPrefsIn)
    await services(request).store.users.set_notify_email(user_id=user_id, enabled=payload.email)
    return json_response({"email": payload.email})


@routes.get("/api/admin/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    """Sessions, latest start first; `user` keeps those that user takes part in."""
    limit, offset = page_params(request, default_limit=100, max_limit=1000)
    user = request.query.get("user")
    user_id = parse_uuid(user) if user is not None else None
    if user is not None and user_id is None:
        raise BadRequest("user must be a UUID", code="invalid_query")
    records = await services(request).store.sessions.list(
        user_id=user_id, limit=limit, offset=offset
    )
    return json_response([render.session(record) for record in records])


@routes.put("/api/admin/sessions/{id}")
async def put_session(request: web.Request) -> web.Response:
    session_id = new_path_id(request)
    payload = await body(request, SessionIn)
    session, created = await admin_writes.put_session(services(request).store, session_id, payload)
    return json_response(session, status=201 if created else 200)


@routes.get("/api/admin/sessions/{id}")
async def get_session(request: web.Request) -> web.Response:
    record = await services(request).store.sessions.require(path_id(request, what="session"))
    return json_response(render.session(record))


@routes.delete("/api/admin/users/{id}")
async def delete_user(request: web.Request) -> web.Response:
    """Remove a user who takes part in no session; their live sockets are cut."""
    user_id = path_id(request, what="user")
    app = services(request)
    await app.store.users.delete(user_id=user_id)
    await app.chat.revoke(user_id, before=None)
    return web.Response(status=204)


@routes.post("/api/admin/users/{id}/revoke-tokens")
async def revoke_tokens(request: web.Request) -> web.Response:
    """Refuse every token of the user issued before now, and cut the sockets using one."""
    user_id = path_id(request, what="user")
    app = services(request)
    instant = await app.store.users.revoke_tokens(user_id=user_id)
    await app.chat.revoke(user_id, before=int(instant.timestamp()))
    return json_response(render.revocation(user_id, instant))
