"""/api/conversations/:id/messages/:messageId: edit (PATCH) and delete (DELETE) a message.

Both go through the message writer like sends, so a conversation's writes are ordered by one
lock and their events (`message_updated`, `message_deleted`) leave in commit order.
"""

from __future__ import annotations

from aiohttp import web

from chatkit.ids import parse_uuid
from chatkit.server.data.store.changes import ChangeResult, DeleteMessage, EditMessage
from chatkit.server.data.store.records import Participants
from chatkit.server.errors import NotFound
from chatkit.server.http.auth import caller
from chatkit.server.http.routes.params import body, path_id
from chatkit.server.services import Services, services
from chatkit.server.wire import render
from chatkit.server.wire.jsonutil import json_response
from chatkit.server.wire.schemas import EditMessageIn

routes = web.RouteTableDef()

PATH = "/api/conversations/{id}/messages/{messageId}"


def _message_id(request: web.Request) -> str:
    # A malformed id names nothing: 404, like an unknown one.
    value = parse_uuid(request.match_info["messageId"])
    if value is None:
        raise NotFound("no such message", code="message_not_found")
    return value


def _answer(result: ChangeResult) -> web.Response:
    assert result.message is not None
    return json_response(render.message(result.message))


@routes.patch(PATH)
async def edit_message(request: web.Request) -> web.Response:
    app = services(request)
    editor_id = caller(request).user_id
    participants = await app.store.conversations.require_participant(
        conversation_id=path_id(request, what="conversation"), user_id=editor_id
    )
    message_id = _message_id(request)
    payload = await body(request, EditMessageIn)
    app.limits.message(editor_id)
    result = await app.writer.change(
        EditMessage(participants, message_id, editor_id=editor_id, content=payload.content)
    )
    return _answer(result)


@routes.delete(PATH)
async def delete_message(request: web.Request) -> web.Response:
    app = services(request)
    claims = caller(request)
    conversation_id = path_id(request, what="conversation")
    if claims.is_admin:
        participants = await _existing(app, conversation_id)
    else:
        participants = await app.store.conversations.require_participant(
            conversation_id=conversation_id, user_id=claims.user_id
        )
    message_id = _message_id(request)
    if not claims.is_admin:
        app.limits.message(claims.user_id)
    result = await app.writer.change(
        DeleteMessage(participants, message_id, deleter_id=claims.user_id, as_admin=claims.is_admin)
    )
    return _answer(result)


async def _existing(app: Services, conversation_id: str) -> Participants:
    found = await app.store.conversations.participants(conversation_id)
    if found is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    return found
